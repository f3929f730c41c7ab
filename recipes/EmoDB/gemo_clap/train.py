#!/usr/bin/env python3
"""Recipe for training GEmo-CLAP speech emotion recognition on
EmoDB.

A contrastive language-audio model: a pre-trained SSL speech model and a
text model read natural-language emotion prompts; the objective is
SL-GEmo-CLAP (see hparams/).

Leave one speaker out by default: ``num_folds=10`` folds of one
speaker each, fold ``test_fold`` the test speaker; validation is drawn
from the other speakers' utterances. The seven classes (anger, boredom,
disgust, fear, happiness, sadness, neutral) are the default class set.
The best epoch by validation UAR is evaluated on the test set, and a
self-contained inference folder is exported.

To run this recipe:
    > python train.py hparams/sl_wavlm.yaml \
    >     --data_folder=/path/to/EmoDB --test_fold=1 --num_folds=10

Only the data preparation differs from recipes/IEMOCAP/gemo_clap/train.py
(and the data pipeline's class filter and unknown genders).
All ten folds: cross_validate.py.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

import speechbrain as sb
import torch
from emodb_prepare import prepare_emodb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.nnet.schedulers import update_learning_rate
from speechbrain.utils.distributed import (
    ddp_barrier,
    if_main_process,
    run_on_main,
)
from speechbrain.utils.logger import get_logger
from speechbrain.utils.metric_stats import MetricStats

from speechbrain_gemo.brain import (
    RobustBrain,
    annealing_value,
    check_dimension_settings,
    contrastive_loss,
    dimensional_loss,
    emotion_logits,
    per_utterance_cross_entropy,
    selection_stats,
    set_learning_rate,
    trainable_parameter_groups,
    write_test_predictions,
)
from speechbrain_gemo.checkpoints import data_fingerprint
from speechbrain_gemo.data.audio import random_crop, read_utterance
from speechbrain_gemo.data.labels import (
    add_dimension_targets,
    keep_classes,
    load_or_create_label_encoder,
)
from speechbrain_gemo.data.telephone import telephone_augment
from speechbrain_gemo.distributed import end_process_group
from speechbrain_gemo.errors import exit_on_user_error
from speechbrain_gemo.export import export_for_inference
from speechbrain_gemo.io import write_json_atomic
from speechbrain_gemo.metrics import DimensionStats, EmotionClassificationStats
from speechbrain_gemo.prompts import gender_index

logger = get_logger(__name__)


class GEmoCLAPBrain(RobustBrain):
    """Trains and evaluates GEmo-CLAP: audio embeddings against the
    embeddings of the class prompts and, with the dimensional head
    (``avd_head``), arousal, valence and dominance. Skipping non-finite
    batches and removing incomplete checkpoints come from
    ``RobustBrain``."""

    def on_fit_start(self):
        """Refuses dimensional-head settings that cannot work
        (``avd_head``, ``avd_weight``, ``selection_key``), then starts as
        ``RobustBrain``."""
        check_dimension_settings(
            self.model.has_avd,
            self.hparams.avd_weight,
            self.hparams.selection_key,
        )
        super().on_fit_start()

    def compute_forward(self, batch, stage):
        """Embeds the batch's audio and the class prompts.

        Arguments
        ---------
        batch : PaddedBatch
            With ``sig`` = (waveforms, relative lengths).
        stage : sb.Stage
            The stage.

        Returns
        -------
        dict
            ``audio_emb`` (N x d), ``emotion_prompt_emb`` (K x d),
            ``scale``, with gender prompts ``gender_prompt_emb`` and
            ``gender_scale``, with the dimensional head ``avd`` (N x 3).
        """
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        return self.modules.model(wavs, wav_lens)

    def compute_objectives(self, predictions, batch, stage):
        """Computes the contrastive loss, plus ``avd_weight`` times the
        dimensional loss with the dimensional head; in validation and test,
        also tracks the predictions and the prompt classifier's
        cross-entropy (and in test, the probabilities).

        Arguments
        ---------
        predictions : dict
            The output of ``compute_forward``.
        batch : PaddedBatch
            With ``emo_encoded``, ``gender_encoded`` and, with the
            dimensional head, ``avd``.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            The loss.
        """
        emo = batch.emo_encoded.data.view(-1)
        gender = batch.gender_encoded.data.view(-1)
        # Only the training set is sharded across processes; each process
        # evaluates the whole validation and test sets itself
        gather = self.hparams.gather_across_processes
        loss = contrastive_loss(
            self.hparams.compute_cost,
            predictions,
            emo,
            gender,
            gather=gather and stage == sb.Stage.TRAIN,
        )
        if self.model.has_avd:
            loss = loss + self.hparams.avd_weight * dimensional_loss(
                predictions["avd"],
                batch.avd.data,
                gather=gather and stage == sb.Stage.TRAIN,
            )
        if stage != sb.Stage.TRAIN:
            logits = emotion_logits(predictions)
            self.ce_metrics.append(batch.id, logits, emo)
            probs = logits.softmax(dim=-1)
            labels = self.model.emotion_labels
            self.error_metrics.append(
                batch.id,
                [labels[i] for i in probs.argmax(dim=-1).tolist()],
                [labels[i] for i in emo.tolist()],
            )
            if stage == sb.Stage.TEST:
                self.test_probabilities.update(zip(batch.id, probs.tolist()))
            if self.model.has_avd:
                self.avd_metrics.append(
                    batch.id, predictions["avd"], batch.avd.data
                )
        return loss

    def init_optimizers(self):
        """One optimiser per trained part: the SSL speech model
        (``ssl_opt_class``), the text model (``opt_class`` at
        ``text_lr_scale`` times its rate) and the rest (``opt_class``)."""
        params = trainable_parameter_groups(self.model)
        self.optimizer = self.hparams.opt_class(params["other"])
        self.optimizers_dict = {"model_optimizer": self.optimizer}
        if params["text"]:
            self.text_optimizer = self.hparams.opt_class(
                [
                    {
                        "params": params["text"],
                        "lr_scale": self.hparams.text_lr_scale,
                    }
                ]
            )
            lr = self.optimizer.param_groups[0]["lr"]
            set_learning_rate(self.text_optimizer, lr)
            self.optimizers_dict["text_optimizer"] = self.text_optimizer
        if params["ssl"]:
            self.ssl_optimizer = self.hparams.ssl_opt_class(params["ssl"])
            self.optimizers_dict["ssl_optimizer"] = self.ssl_optimizer
        if self.checkpointer is not None:
            for name, optimizer in self.optimizers_dict.items():
                self.checkpointer.add_recoverable(name, optimizer)

    def on_stage_start(self, stage, epoch=None):
        """Resets the metrics of the stage.

        Arguments
        ---------
        stage : sb.Stage
            The stage.
        epoch : int, optional
            The epoch.
        """
        if stage == sb.Stage.TRAIN and self.step > 0:
            logger.info(
                f"Resuming epoch {epoch} after batch {self.step} "
                "(intra-epoch checkpoint)"
            )
        if stage != sb.Stage.TRAIN:
            self.error_metrics = EmotionClassificationStats(
                self.model.emotion_labels
            )
            self.ce_metrics = MetricStats(metric=per_utterance_cross_entropy)
            self.avd_metrics = DimensionStats()
        if stage == sb.Stage.TEST:
            self.test_probabilities = {}

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs; after validation, anneals the learning rates (on the
        ``annealing_metric``) and keeps the best checkpoint by
        ``selection_key`` (UAR by default); after test, keeps the test
        metrics (with the dimensional head, its CCCs too).

        Arguments
        ---------
        stage : sb.Stage
            The stage.
        stage_loss : float
            The average loss of the stage.
        epoch : int, optional
            The epoch.
        """
        stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            stats["skipped_batches"] = self.skipped_batches
            self.train_stats = stats
            return
        metrics = self.error_metrics.recall_metrics()
        stats["WAR"] = metrics["WAR"]
        stats["UAR"] = metrics["UAR"]
        # Per utterance, whatever the batches: the loss depends on them
        stats["CE"] = self.ce_metrics.summarize("average")
        if self.model.has_avd:
            dimensions = self.avd_metrics.summarize()
            stats = selection_stats(stats, dimensions)
            metrics = {**metrics, **dimensions}
        if stage == sb.Stage.VALID:
            measure = annealing_value(self.hparams.annealing_metric, stats)
            old_lr, new_lr = self.hparams.lr_annealing(measure)
            set_learning_rate(self.optimizer, new_lr)
            if hasattr(self, "text_optimizer"):
                set_learning_rate(self.text_optimizer, new_lr)
            lr_stats = {"lr": old_lr}
            if hasattr(self, "ssl_optimizer"):
                old_ssl, new_ssl = self.hparams.lr_annealing_ssl(measure)
                update_learning_rate(self.ssl_optimizer, new_ssl)
                lr_stats["lr_ssl"] = old_ssl
            lr_stats["scale"] = float(self.model.scale())
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, **lr_stats},
                train_stats=self.train_stats,
                valid_stats=stats,
            )
            key = self.hparams.selection_key
            if stats.get(key) is None:
                raise ValueError(
                    f"selection_key={key} needs a validation CCC: at least "
                    "two validation utterances rated for arousal, valence "
                    "or dominance (see the log's counts); use UAR"
                )
            self.checkpointer.save_and_keep_only(
                meta=stats, max_keys=[key], num_to_keep=1
            )
        elif stage == sb.Stage.TEST:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stats,
            )
            self.test_metrics = metrics


def dataio_prep(hparams, emotion_labels):
    """Builds the train, valid and test datasets and the label encoder.

    Utterances whose ``emo`` is not one of ``emotion_labels`` are dropped
    (and counted in the log); the audio is mixed down to mono and
    resampled to ``sample_rate``; an unknown (null) gender is label -1.

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
        The emotion label encoder, saved in ``save_folder``.
    """
    sample_rate = hparams["sample_rate"]
    max_samples = None
    if hparams["max_train_seconds"]:
        max_samples = int(hparams["max_train_seconds"] * hparams["sample_rate"])

    @sb.utils.data_pipeline.takes("id", "wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(utt_id, wav):
        """Reads a validation or test utterance whole, mono at
        ``sample_rate``; a missing or unreadable file stops the run with an
        error naming it.

        Arguments
        ---------
        utt_id : str
            The utterance id.
        wav : str
            The audio file.

        Returns
        -------
        torch.Tensor
            The waveform.
        """
        return read_utterance(wav, utt_id, sample_rate)

    @sb.utils.data_pipeline.takes("id", "wav")
    @sb.utils.data_pipeline.provides("sig")
    def train_audio_pipeline(utt_id, wav):
        """Reads a training utterance, cropped to a random window of
        ``max_train_seconds`` (which bounds the memory of a batch) and,
        with probability ``telephone_prob``, turned into telephone audio
        (``speechbrain_gemo.data.telephone``).

        Arguments
        ---------
        utt_id : str
            The utterance id.
        wav : str
            The audio file.

        Returns
        -------
        torch.Tensor
            The waveform, or a window of it.
        """
        sig = random_crop(read_utterance(wav, utt_id, sample_rate), max_samples)
        return telephone_augment(sig, sample_rate, hparams["telephone_prob"])

    emo_encoder = load_or_create_label_encoder(
        os.path.join(hparams["save_folder"], "label_encoder.txt"),
        emotion_labels,
    )

    @sb.utils.data_pipeline.takes("emo", "gender")
    @sb.utils.data_pipeline.provides("emo_encoded", "gender_encoded")
    def label_pipeline(emo, gender):
        """Encodes the emotion and gender labels as class indices.

        Arguments
        ---------
        emo : str
            The emotion label.
        gender : str or None
            The speaker's gender (``F``, ``M``, or None when unknown).

        Yields
        ------
        emo_encoded : torch.LongTensor
            The emotion class index.
        gender_encoded : torch.LongTensor
            The gender class index (``F`` 0, ``M`` 1, unknown -1).
        """
        yield emo_encoder.encode_label_torch(emo)
        yield torch.LongTensor([gender_index(gender)])

    annotations = {
        "train": hparams["train_annotation"],
        "valid": hparams["valid_annotation"],
        "test": hparams["test_annotation"],
    }
    datasets = {}
    for split, annotation in annotations.items():
        datasets[split] = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=annotation,
            replacements={"data_root": hparams["data_folder"]},
            dynamic_items=[
                train_audio_pipeline if split == "train" else audio_pipeline,
                label_pipeline,
            ],
            output_keys=["id", "sig", "emo_encoded", "gender_encoded"],
        )
        datasets[split] = keep_classes(datasets[split], emotion_labels, split)
        if hparams["avd_head"]:
            add_dimension_targets(datasets[split], hparams["avd_scale"], split)
    return datasets, emo_encoder


def loader_kwargs(hparams, dataset, stage):
    """DataLoader options: fixed-size batches, or batches of about
    ``max_batch_length`` seconds with SpeechBrain's DynamicBatchSampler.
    Training and validation batches are shuffled with the seed (the
    validation ones in the same order every epoch); test batches follow
    the manifest.

    Arguments
    ---------
    hparams : dict
        The recipe hyperparameters.
    dataset : DynamicItemDataset
        The dataset to batch.
    stage : sb.Stage
        The stage the loader is for.

    Returns
    -------
    dict
        Keyword arguments for ``make_dataloader``.
    """
    if not hparams["dynamic_batching"]:
        if stage == sb.Stage.TRAIN:
            return hparams["train_dataloader_options"]
        if stage == sb.Stage.VALID:
            return hparams["valid_dataloader_options"]
        return hparams["test_dataloader_options"]
    shuffle = stage != sb.Stage.TEST
    sampler = sb.dataio.sampler.DynamicBatchSampler(
        dataset,
        max_batch_length=hparams["max_batch_length"],
        num_buckets=hparams["num_buckets"],
        length_func=lambda x: x["duration"],
        shuffle=shuffle,
        batch_ordering="random" if shuffle else "ascending",
        seed=hparams["seed"],
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
    # A user's error (bad data, another run's checkpoints) is one line
    with exit_on_user_error():
        hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
        sb.utils.distributed.ddp_init_group(run_opts)
        with open(hparams_file, encoding="utf-8") as fin:
            hparams = load_hyperpyyaml(fin, overrides)

        sb.create_experiment_directory(
            experiment_directory=hparams["output_folder"],
            hyperparams_to_save=hparams_file,
            overrides=overrides,
        )

        # The corpus-specific part: manifests with wav, duration, emo, gender
        if not hparams["skip_prep"]:
            run_on_main(
                prepare_emodb,
                kwargs={
                    "data_folder": hparams["data_folder"],
                    "save_folder": hparams["save_folder"],
                    "test_fold": hparams["test_fold"],
                    "num_folds": hparams["num_folds"],
                    "valid_ratio": hparams["valid_ratio"],
                    "seed": hparams["seed"],
                },
            )

        datasets, emo_encoder = dataio_prep(
            hparams, hparams["model"].emotion_labels
        )
        # Checkpoints made on other data or classes are refused, never resumed
        hparams["checkpointer"].data_fingerprint = data_fingerprint(
            datasets, hparams["model"].emotion_labels
        )
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
            train_loader_kwargs=loader_kwargs(
                hparams, datasets["train"], sb.Stage.TRAIN
            ),
            valid_loader_kwargs=loader_kwargs(
                hparams, datasets["valid"], sb.Stage.VALID
            ),
        )

        brain.evaluate(
            datasets["test"],
            max_key=hparams["selection_key"],
            test_loader_kwargs=loader_kwargs(
                hparams, datasets["test"], sb.Stage.TEST
            ),
        )
        if if_main_process():
            write_test_predictions(
                hparams["test_predictions_file"],
                brain.error_metrics,
                brain.test_probabilities,
                brain.model.emotion_labels,
                brain.avd_metrics if brain.model.has_avd else None,
                brain.model.avd_scale,
            )
            write_json_atomic(hparams["test_metrics_file"], brain.test_metrics)
            export_for_inference(
                model=brain.model,
                label_encoder=emo_encoder,
                hparams=hparams,
                folder=hparams["export_folder"],
            )
        ddp_barrier()
        # Under torchrun: exits here (see end_process_group)
        end_process_group()
