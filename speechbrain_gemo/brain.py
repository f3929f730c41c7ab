"""The training loop: a SpeechBrain ``Brain`` for GEmo-CLAP.

The model (:class:`speechbrain_gemo.model.GEmoCLAPModel`) and the objective
(:class:`speechbrain_gemo.losses.GEmoCLAPLoss`) come from the hparams; this
class only wires them into SpeechBrain's loop: two optimisers (the SSL
speech model and everything else) with their own learning-rate schedules,
WAR/UAR tracking in validation and test, best-checkpoint selection by
validation UAR, non-finite loss skipping, and DDP with the contrastive
matrix built over the global batch. Checkpoints are only taken as such when
complete (see :mod:`speechbrain_gemo.checkpoints`), so that a run killed at
any moment resumes from its last complete checkpoint.

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import os

import speechbrain as sb
import torch
from speechbrain.nnet.schedulers import update_learning_rate
from speechbrain.utils.distributed import if_main_process, run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.checkpoints import kill_point
from speechbrain_gemo.distributed import gather_with_grad
from speechbrain_gemo.metrics import EmotionClassificationStats

logger = get_logger(__name__)


@sb.utils.checkpoints.register_checkpoint_hooks
class GEmoCLAPBrain(sb.Brain):
    """Trains and evaluates a GEmo-CLAP model.

    Expected in ``modules``: ``model``, a ``GEmoCLAPModel``. Expected in
    ``hparams``: ``compute_cost`` (a ``GEmoCLAPLoss``), ``opt_class`` (the
    optimiser of everything but the SSL model), ``ssl_opt_class`` (the SSL
    model's, used only when the SSL model is trained), ``lr_annealing`` and
    ``lr_annealing_ssl`` (schedulers called with the validation loss at
    each epoch end, SpeechBrain style), ``epoch_counter``,
    ``train_logger``, and optionally ``gather_across_processes`` (default
    True) and ``text_lr_scale`` (the text model's learning rate relative to
    ``opt_class``'s, default 1.0).

    Batches carry ``sig`` (padded waveforms and relative lengths),
    ``emo_encoded`` and ``gender_encoded`` (class indices in the order of
    the model's prompts).

    Example
    -------
    A full run is ``recipes/IEMOCAP/gemo_clap/train.py``; the tests build
    one on tiny local models.
    """

    @property
    def model(self):
        """The GEmo-CLAP model, unwrapped from DDP if needed."""
        model = self.modules.model
        return model.module if hasattr(model, "module") else model

    def compute_forward(self, batch, stage):
        """Embeds the batch's audio and the class prompts.

        Arguments
        ---------
        batch : PaddedBatch
            With ``sig`` = (wavs, relative lengths).
        stage : sb.Stage
            The stage.

        Returns
        -------
        dict
            The model's outputs: ``audio_emb`` (N x d), ``emotion_prompt_emb``
            (K x d), ``scale`` and, for models with gender prompts,
            ``gender_prompt_emb`` and ``gender_scale``.
        """
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        return self.modules.model(wavs, wav_lens)

    def compute_objectives(self, predictions, batch, stage):
        """Applies the configured objective and tracks WAR/UAR.

        Arguments
        ---------
        predictions : dict
            The output of ``compute_forward``.
        batch : PaddedBatch
            With ``emo_encoded`` and ``gender_encoded``.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            The loss.
        """
        emo = batch.emo_encoded.data.view(-1)
        gender = batch.gender_encoded.data.view(-1)
        audio = predictions["audio_emb"].float()
        # SpeechBrain shards only the training set across processes; each
        # process evaluates the whole validation and test sets itself
        gather = getattr(self.hparams, "gather_across_processes", True)
        if gather and stage == sb.Stage.TRAIN:
            all_audio = gather_with_grad(audio)
            all_emo = gather_with_grad(emo)
            all_gender = gather_with_grad(gender)
        else:
            all_audio, all_emo, all_gender = audio, emo, gender

        has_gender = "gender_prompt_emb" in predictions
        loss = self.hparams.compute_cost(
            all_audio,
            predictions["emotion_prompt_emb"].float(),
            all_emo,
            predictions["scale"].float(),
            gender_labels=all_gender,
            gender_prompt_emb=(
                predictions["gender_prompt_emb"].float() if has_gender else None
            ),
            gender_logit_scale=(
                predictions["gender_scale"].float() if has_gender else None
            ),
        )

        if stage != sb.Stage.TRAIN:
            logits = audio @ predictions["emotion_prompt_emb"].float().T
            predicted = logits.argmax(dim=-1)
            labels = self.model.emotion_labels
            self.error_metrics.append(
                batch.id,
                [labels[i] for i in predicted.tolist()],
                [labels[i] for i in emo.tolist()],
            )
            if stage == sb.Stage.TEST:
                probs = torch.softmax(
                    predictions["scale"].float() * logits, dim=-1
                )
                for utt_id, row in zip(batch.id, probs.tolist()):
                    self.test_probabilities[utt_id] = row
        return loss

    def fit_batch(self, batch):
        """One training step; a batch whose loss is not finite is skipped
        (no update) and counted, up to ``--nonfinite_patience``.

        Arguments
        ---------
        batch : PaddedBatch
            A training batch.

        Returns
        -------
        torch.Tensor
            The detached loss.
        """
        should_step = (self.step % self.grad_accumulation_factor) == 0
        self.on_fit_batch_start(batch, should_step)
        with self.no_sync(not should_step):
            with self.training_ctx:
                outputs = self.compute_forward(batch, sb.Stage.TRAIN)
                loss = self.compute_objectives(outputs, batch, sb.Stage.TRAIN)
            if not torch.isfinite(loss):
                # check_loss_isfinite counts it in nonfinite_count
                self.skipped_batches += 1
                logger.warning(
                    f"Non-finite loss on batch {list(batch.id)[:4]}...: "
                    f"skipped ({self.skipped_batches} so far this run)"
                )
                self.check_loss_isfinite(loss)  # raises past the patience
                self.zero_grad(set_to_none=True)
                return loss.detach().cpu()
            scaled = self.scaler.scale(loss / self.grad_accumulation_factor)
            scaled.backward()
        if should_step:
            self.optimizers_step()
            self.model.clamp_logit_scales_()
        self.on_fit_batch_end(batch, outputs, loss, should_step)
        kill_point("train_step")
        return loss.detach().cpu()

    def evaluate_batch(self, batch, stage):
        """Evaluates one batch (see ``sb.Brain.evaluate_batch``).

        Arguments
        ---------
        batch : PaddedBatch
            A validation or test batch.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            The detached loss.
        """
        loss = super().evaluate_batch(batch, stage)
        if stage == sb.Stage.VALID:
            kill_point("valid_step")
        return loss

    def on_fit_start(self):
        """Counts skipped batches from the start of each run, and removes
        the checkpoint folders left incomplete by an interrupted run before
        the latest complete checkpoint is loaded."""
        self.skipped_batches = 0
        remove_incomplete = getattr(
            self.checkpointer, "remove_incomplete", None
        )
        if remove_incomplete is not None:
            run_on_main(remove_incomplete)
        super().on_fit_start()

    @sb.utils.checkpoints.mark_as_saver
    def _save(self, path):
        # The "brain" recoverable is saved after the model and before the
        # optimisers: the test hook kills a run inside a checkpoint save here
        super()._save(path)
        kill_point("ckpt_save")

    def init_optimizers(self):
        """Up to three optimisers of the ``opt_class``/``ssl_opt_class``
        kinds: the SSL speech model (when trained), the text model (when
        trained, at ``text_lr_scale`` times ``lr``) and everything else.
        Each has its own so that SpeechBrain clips every one's gradients
        (it clips only the first parameter group of an optimiser)."""
        ssl_params = [
            p
            for p in self.model.audio_encoder.ssl_model.parameters()
            if p.requires_grad
        ]
        ssl_ids = {id(p) for p in ssl_params}
        text_ids = {
            id(p) for p in self.model.text_encoder.text_model.parameters()
        }
        text_params, other_params = [], []
        for param in self.model.parameters():
            if not param.requires_grad or id(param) in ssl_ids:
                continue
            (text_params if id(param) in text_ids else other_params).append(
                param
            )
        self.optimizer = self.hparams.opt_class(other_params)
        self.optimizers_dict = {"model_optimizer": self.optimizer}
        if text_params:
            text_scale = getattr(self.hparams, "text_lr_scale", 1.0)
            self.text_optimizer = self.hparams.opt_class(
                [{"params": text_params, "lr_scale": text_scale}]
            )
            self._apply_lr(
                self.text_optimizer, self.optimizer.param_groups[0]["lr"]
            )
            self.optimizers_dict["text_optimizer"] = self.text_optimizer
        if ssl_params:
            self.ssl_optimizer = self.hparams.ssl_opt_class(ssl_params)
            self.optimizers_dict["ssl_optimizer"] = self.ssl_optimizer
        if self.checkpointer is not None:
            for name, opt in self.optimizers_dict.items():
                self.checkpointer.add_recoverable(name, opt)

    @staticmethod
    def _apply_lr(optimizer, lr):
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

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
        if stage == sb.Stage.TEST:
            self.test_probabilities = {}

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, anneals the learning rates, checkpoints by validation UAR,
        and keeps the test metrics.

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
        if stage == sb.Stage.VALID:
            old_lr, new_lr = self.hparams.lr_annealing(stage_loss)
            self._apply_lr(self.optimizer, new_lr)
            if hasattr(self, "text_optimizer"):
                self._apply_lr(self.text_optimizer, new_lr)
            lr_stats = {"lr": old_lr}
            if hasattr(self, "ssl_optimizer"):
                old_ssl, new_ssl = self.hparams.lr_annealing_ssl(stage_loss)
                update_learning_rate(self.ssl_optimizer, new_ssl)
                lr_stats["lr_ssl"] = old_ssl
            lr_stats["scale"] = float(self.model.scale())
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, **lr_stats},
                train_stats=self.train_stats,
                valid_stats=stats,
            )
            self.checkpointer.save_and_keep_only(
                meta=stats, max_keys=["UAR"], num_to_keep=1
            )
        elif stage == sb.Stage.TEST:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stats,
            )
            self.test_metrics = metrics

    def write_test_predictions(self, path):
        """Writes one row per test utterance: id, true and predicted label,
        and the class probabilities (written atomically, main process).

        Arguments
        ---------
        path : str
            The CSV file to write.
        """
        if not if_main_process():
            return
        labels = list(self.model.emotion_labels)
        tmp = f"{path}.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["ID", "true", "predicted"] + labels)
            stats = self.error_metrics
            for utt_id, pred, true in zip(
                stats.ids, stats.predictions, stats.targets
            ):
                probs = self.test_probabilities[utt_id]
                writer.writerow(
                    [utt_id, true, pred] + [f"{p:.6f}" for p in probs]
                )
        os.replace(tmp, path)
