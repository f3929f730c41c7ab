#!/usr/bin/env python3
"""Recipe for training GEmo-CLAP speech emotion recognition on IEMOCAP.

A contrastive language-audio model: a pre-trained SSL speech model and a
text model read natural-language emotion prompts; the objective is one of
Emo-CLAP, ML-GEmo-CLAP or SL-GEmo-CLAP (see hparams/). The test session is
held out (leave-one-session-out); the best epoch by validation UAR is
evaluated on it, and a self-contained inference folder is exported.

To run this recipe:
    > python train.py hparams/sl_wavlm.yaml \
    >     --data_folder=/path/to/IEMOCAP_full_release

Several GPUs:
    > torchrun --nproc_per_node=4 train.py hparams/sl_wavlm.yaml \
    >     --data_folder=...

All five folds: cross_validate.py.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

import speechbrain as sb
import torch
from iemocap_prepare import prepare_iemocap
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.distributed import (
    ddp_barrier,
    if_main_process,
    run_on_main,
)

from speechbrain_gemo.brain import GEmoCLAPBrain
from speechbrain_gemo.checkpoints import kill_point
from speechbrain_gemo.data.audio import random_crop, read_utterance
from speechbrain_gemo.export import export_for_inference
from speechbrain_gemo.io import write_json_atomic
from speechbrain_gemo.prompts import GENDERS
from speechbrain_gemo.recipe_hparams import (
    load_recipe_hparams,
    nest_overrides,
)


def dataio_prep(hparams, emotion_labels):
    """Builds the train, valid and test datasets and the label encoders.

    Arguments
    ---------
    hparams : dict
        The recipe hyperparameters.
    emotion_labels : list
        The emotion classes in the order of the model's prompts.

    Returns
    -------
    datasets : dict
        ``train``, ``valid`` and ``test`` DynamicItemDatasets.
    emo_encoder : CategoricalEncoder
        Emotion label encoder, saved to ``save_folder``.
    """
    max_samples = None
    if hparams["max_train_seconds"]:
        max_samples = int(hparams["max_train_seconds"] * hparams["sample_rate"])

    # A missing or unreadable wav stops the run with an error naming it
    @sb.utils.data_pipeline.takes("id", "wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(utt_id, wav):
        return read_utterance(wav, utt_id)

    @sb.utils.data_pipeline.takes("id", "wav")
    @sb.utils.data_pipeline.provides("sig")
    def train_audio_pipeline(utt_id, wav):
        # a random window keeps memory bounded for long utterances
        return random_crop(read_utterance(wav, utt_id), max_samples)

    encoder_path = os.path.join(hparams["save_folder"], "label_encoder.txt")
    if if_main_process() and not os.path.isfile(encoder_path):
        # written under another name, then renamed: never partial
        os.makedirs(hparams["save_folder"], exist_ok=True)
        new_encoder = CategoricalEncoder()
        new_encoder.update_from_iterable(emotion_labels)
        new_encoder.save(f"{encoder_path}.tmp")
        os.replace(f"{encoder_path}.tmp", encoder_path)
    ddp_barrier()
    emo_encoder = CategoricalEncoder()
    emo_encoder.load(encoder_path)
    emo_encoder.expect_len(len(emotion_labels))
    if [emo_encoder.ind2lab[i] for i in range(len(emotion_labels))] != list(
        emotion_labels
    ):
        raise ValueError(
            f"label_encoder.txt in {hparams['save_folder']} does not match "
            f"the prompt classes {list(emotion_labels)}: remove it"
        )
    gender_encoder = CategoricalEncoder()
    gender_encoder.update_from_iterable(GENDERS)
    gender_encoder.expect_len(len(GENDERS))

    @sb.utils.data_pipeline.takes("emo", "gender")
    @sb.utils.data_pipeline.provides("emo_encoded", "gender_encoded")
    def label_pipeline(emo, gender):
        yield emo_encoder.encode_label_torch(emo)
        yield gender_encoder.encode_label_torch(gender)

    datasets = {}
    for split in ("train", "valid", "test"):
        datasets[split] = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=hparams[f"{split}_annotation"],
            replacements={"data_root": hparams["data_folder"]},
            dynamic_items=[
                train_audio_pipeline if split == "train" else audio_pipeline,
                label_pipeline,
            ],
            output_keys=["id", "sig", "emo_encoded", "gender_encoded"],
        )
    return datasets, emo_encoder


def loader_kwargs(hparams, dataset, train):
    """DataLoader options: fixed-size batches, or batches of about
    ``max_batch_length`` seconds with SpeechBrain's DynamicBatchSampler.

    Arguments
    ---------
    hparams : dict
        The recipe hyperparameters.
    dataset : DynamicItemDataset
        The dataset to batch.
    train : bool
        Whether it is the training set (shuffled).

    Returns
    -------
    dict
        Keyword arguments for ``make_dataloader``.
    """
    key = "train_dataloader_options" if train else "test_dataloader_options"
    if not hparams["dynamic_batching"]:
        return hparams[key]
    sampler = sb.dataio.sampler.DynamicBatchSampler(
        dataset,
        max_batch_length=hparams["max_batch_length"],
        num_buckets=hparams["num_buckets"],
        length_func=lambda x: x["duration"],
        shuffle=train,
        batch_ordering="random" if train else "ascending",
    )
    return {"batch_sampler": sampler, "num_workers": hparams["num_workers"]}


def resolve_checkpoint_interval(hparams, run_opts):
    """Lets ``--ckpt_interval_steps=N`` on the command line replace the
    intra-epoch checkpoints by minutes of the hyperparameters (SpeechBrain
    refuses both at once).

    Arguments
    ---------
    hparams : dict
        The recipe hyperparameters; ``ckpt_interval_minutes`` is set to 0
        when steps are asked for on the command line and minutes are not.
    run_opts : RunOptions
        The run options from ``sb.parse_arguments``.

    Example
    -------
    >>> argv = ["h.yaml", "--ckpt_interval_steps=2"]
    >>> _, run_opts, _ = sb.parse_arguments(argv)
    >>> hparams = {"ckpt_interval_minutes": 15, "ckpt_interval_steps": 0}
    >>> resolve_checkpoint_interval(hparams, run_opts)
    >>> hparams["ckpt_interval_minutes"]
    0
    """
    overridden = run_opts.overridden_args
    if (
        "ckpt_interval_steps" in overridden
        and run_opts["ckpt_interval_steps"] > 0
        and "ckpt_interval_minutes" not in overridden
    ):
        hparams["ckpt_interval_minutes"] = 0


if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)
    hparams = load_recipe_hparams(hparams_file, overrides)

    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=nest_overrides(overrides),
    )

    if not hparams["skip_prep"]:
        run_on_main(
            prepare_iemocap,
            kwargs={
                "data_folder": hparams["data_folder"],
                "save_folder": hparams["save_folder"],
                "test_session": hparams["test_session"],
                "valid_ratio": hparams["valid_ratio"],
                "seed": hparams["seed"],
                "expected_utterances": hparams["expected_utterances"],
                "split": hparams["split"],
                "test_speaker": hparams["test_speaker"],
            },
        )

    model = hparams["model"]
    datasets, emo_encoder = dataio_prep(hparams, model.emotion_labels)
    resolve_checkpoint_interval(hparams, run_opts)

    brain = GEmoCLAPBrain(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.fit(
        brain.hparams.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=loader_kwargs(hparams, datasets["train"], True),
        valid_loader_kwargs=loader_kwargs(hparams, datasets["valid"], False),
    )

    brain.evaluate(
        datasets["test"],
        max_key="UAR",
        test_loader_kwargs=loader_kwargs(hparams, datasets["test"], False),
    )
    if if_main_process():
        brain.write_test_predictions(hparams["test_predictions_file"])
        kill_point("metrics")  # test hook, see speechbrain_gemo.checkpoints
        write_json_atomic(hparams["test_metrics_file"], brain.test_metrics)
        export_for_inference(
            model=brain.model,
            label_encoder=emo_encoder,
            hparams=hparams,
            folder=hparams["export_folder"],
        )
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
