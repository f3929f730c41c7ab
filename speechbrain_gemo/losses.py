"""Soft-label contrastive losses of Emo-CLAP and the two GEmo-CLAP variants.

The losses see only embeddings, logit scales and integer labels, so they
work on any batch size (for instance after the audio embeddings of all
processes have been gathered in distributed training) and never touch the
towers themselves.

For a batch of ``N`` audio embeddings ``A`` (one per utterance) and the
prompt embedding ``T_i`` of each utterance's emotion, the logits are
``C = scale * A @ T.T`` (``N x N``) and the target is a label-agreement
matrix ``M`` (1 where two utterances share the label). Each row of ``M``
is normalised into a distribution and the loss is the symmetric KL
divergence between targets and predictions::

    L = 1/2 * (KL(norm(M) || softmax_rows(C))
               + KL(norm(M.T) || softmax_rows(C.T)))

where each KL term sums over a row and averages over the ``N`` rows
(``reduction="batchmean"`` in PyTorch's terms).

``norm`` (``target_norm``) has two readings, and the paper's Eq. 4 does not
settle which:

- ``l1`` (default): each row divided by its sum, ``M[i, j] / sum_k
  M[i, k]``. The target's mass sits on the agreeing pairs only: for a
  balanced batch of 16 with four classes, 100 % of each row is on the 4
  same-emotion utterances.
- ``softmax``: a row-wise softmax of ``M``, ``exp(M[i, j]) / sum_k
  exp(M[i, k])``, the reading of two independent reimplementations. A
  disagreeing pair still gets ``exp(0) = 1`` against ``exp(1) = e`` for an
  agreeing one, so in the same batch only ``4e / (4e + 12)`` = 47.5 % of a
  row is on the same-emotion pairs: the target barely separates positives
  from negatives.

On the demo corpus (``speechbrain_gemo.demo``, held-out session 1, three
seeds) ``l1`` gave WAR = UAR = 0.909 +- 0.024 and ``softmax`` 0.799 +-
0.039 (mean +- sample std; every ``l1`` seed above every ``softmax`` seed),
hence the default; ``recipes/IEMOCAP/gemo_clap/README.md`` has the runs.

The dimensional head (arousal, valence, dominance; ``avd_head`` of
``GEmoCLAPModel``) is trained with :func:`concordance_loss`: the mean over
the dimensions of ``1 - CCC`` over the batch, Lin's concordance
correlation coefficient ``CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x)
- mean(y))^2)`` (:func:`concordance_correlation`), utterances without a
value being left out.

Authors
 * speechbrain-gemo developers 2026
"""

import torch
import torch.nn.functional as F
from torch import nn

OBJECTIVES = ("emo", "ml", "sl")
# The gender label of an utterance whose speaker's gender is not known.
UNKNOWN = -1
TARGET_NORMS = ("l1", "softmax")


def label_equality(labels, dtype=None, unknown_agrees=True):
    """Builds the label-agreement matrix of a batch.

    Arguments
    ---------
    labels : torch.Tensor
        Integer labels, shape ``N`` (or ``N x 1`` as SpeechBrain batches
        encoded labels).
    dtype : torch.dtype, optional
        Floating type of the result (default: torch's default dtype).
    unknown_agrees : bool
        If False, a negative label (``UNKNOWN``) agrees with no label, not
        even with itself: its row and column are zero.

    Returns
    -------
    torch.Tensor
        Float ``N x N`` matrix with 1 where ``labels[i] == labels[j]``.

    Example
    -------
    >>> label_equality(torch.tensor([0, 1, 0]))
    tensor([[1., 0., 1.],
            [0., 1., 0.],
            [1., 0., 1.]])
    >>> label_equality(torch.tensor([0, -1, 0]), unknown_agrees=False)
    tensor([[1., 0., 1.],
            [0., 0., 0.],
            [1., 0., 1.]])
    """
    labels = _flat_labels(labels)
    dtype = dtype or torch.get_default_dtype()
    agree = labels[:, None] == labels[None, :]
    if not unknown_agrees:
        known = labels >= 0
        agree = agree & known[:, None] & known[None, :]
    return agree.to(dtype)


def build_targets(
    emo_labels, gender_labels=None, alpha_e=1.0, alpha_g=0.0, dtype=None
):
    """Builds the (unnormalised) target matrix ``alpha_e * M_e + alpha_g *
    M_g``, the soft labels of SL-GEmo-CLAP.

    With ``gender_labels`` left out the result is ``alpha_e * M_e``, so the
    defaults give the Emo-CLAP target ``M_e``. An unknown gender
    (``UNKNOWN``, -1) agrees with no gender, not even its own: ``M_g`` is
    zero on its row and column.

    Arguments
    ---------
    emo_labels : torch.Tensor
        Integer emotion labels, shape ``N``.
    gender_labels : torch.Tensor, optional
        Integer gender labels, shape ``N``; -1 where unknown.
    alpha_e : float
        Weight of emotion agreement.
    alpha_g : float
        Weight of gender agreement (ignored without ``gender_labels``).
    dtype : torch.dtype, optional
        Floating type of the result (default: torch's default dtype).

    Returns
    -------
    torch.Tensor
        Float ``N x N`` target matrix.

    Example
    -------
    >>> build_targets(
    ...     torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), 0.8, 0.2
    ... )
    tensor([[1.0000, 0.8000, 0.0000],
            [0.8000, 1.0000, 0.2000],
            [0.0000, 0.2000, 1.0000]])
    >>> build_targets(
    ...     torch.tensor([0, 0, 1]), torch.tensor([-1, 1, 1]), 0.8, 0.2
    ... )
    tensor([[0.8000, 0.8000, 0.0000],
            [0.8000, 1.0000, 0.2000],
            [0.0000, 0.2000, 1.0000]])
    """
    target = alpha_e * label_equality(emo_labels, dtype)
    if gender_labels is not None:
        gender = label_equality(gender_labels, dtype, unknown_agrees=False)
        if gender.shape != target.shape:
            raise ValueError(
                f"gender_labels has {gender.shape[0]} entries but "
                f"emo_labels has {target.shape[0]}"
            )
        target = target + alpha_g * gender
    return target


def normalize_targets(target, mode="l1"):
    """Turns each row of a non-negative target matrix into a distribution.

    Arguments
    ---------
    target : torch.Tensor
        ``N x N`` non-negative matrix (every row with a positive entry
        for ``l1``; label-agreement matrices always have their diagonal).
    mode : str
        ``"l1"``: divide each row by its sum; ``"softmax"``: row-wise
        softmax of the matrix.

    Returns
    -------
    torch.Tensor
        ``N x N`` matrix whose rows sum to one.

    Example
    -------
    >>> normalize_targets(torch.tensor([[1.0, 1.0], [0.0, 1.0]]))
    tensor([[0.5000, 0.5000],
            [0.0000, 1.0000]])
    >>> normalize_targets(torch.tensor([[0.0, 0.0]]), "softmax")
    tensor([[0.5000, 0.5000]])
    """
    if mode == "l1":
        return target / target.sum(dim=-1, keepdim=True)
    if mode == "softmax":
        return torch.softmax(target, dim=-1)
    raise ValueError(f"target_norm must be one of {TARGET_NORMS}, got {mode!r}")


def row_kl_divergence(target, logits):
    """KL divergence from each target row to the softmax of the same logits
    row, summed over the row and averaged over the rows.

    Computed from ``log_softmax`` and ``xlogy`` (``0 * log 0 = 0``), so it
    stays finite for one-hot targets and very large logits. It equals
    ``F.kl_div(F.log_softmax(logits, -1), target, reduction="batchmean")``.

    Arguments
    ---------
    target : torch.Tensor
        ``N x M`` matrix whose rows are distributions.
    logits : torch.Tensor
        ``N x M`` unnormalised log-probabilities.

    Returns
    -------
    torch.Tensor
        Scalar, ``sum_ij t_ij (log t_ij - log softmax(logits)_ij) / N``.

    Example
    -------
    >>> row_kl_divergence(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
    tensor(0.6931)
    """
    log_pred = F.log_softmax(logits, dim=-1)
    kl = torch.xlogy(target, target) - target * log_pred
    return kl.sum() / logits.shape[0]


def soft_contrastive_kl(logits, target, target_norm="l1"):
    """Symmetric soft-label contrastive loss on a square logit matrix.

    ``1/2 * (KL(norm(M) || softmax_rows(C)) + KL(norm(M.T) ||
    softmax_rows(C.T)))``: the first term reads the logits audio-to-text
    (rows), the second text-to-audio (columns).

    Arguments
    ---------
    logits : torch.Tensor
        ``N x N`` logits ``C``, audio along the rows, text along the
        columns.
    target : torch.Tensor
        ``N x N`` unnormalised non-negative target ``M``.
    target_norm : str
        ``"l1"`` or ``"softmax"``, see ``normalize_targets``.

    Returns
    -------
    torch.Tensor
        Scalar loss, zero exactly when both row-wise predictions equal the
        normalised targets.

    Example
    -------
    >>> target = torch.eye(2)
    >>> soft_contrastive_kl(torch.zeros(2, 2), target)  # log 2
    tensor(0.6931)
    >>> soft_contrastive_kl(torch.tensor([[50.0, 0], [0, 50]]), target)
    tensor(0.)
    """
    if logits.dim() != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(
            f"logits must be a square matrix, got shape {tuple(logits.shape)}"
        )
    if target.shape != logits.shape:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match logits "
            f"shape {tuple(logits.shape)}"
        )
    target = target.to(logits.dtype)
    audio_to_text = row_kl_divergence(
        normalize_targets(target, target_norm), logits
    )
    text_to_audio = row_kl_divergence(
        normalize_targets(target.t(), target_norm), logits.t()
    )
    return 0.5 * (audio_to_text + text_to_audio)


class GEmoCLAPLoss(nn.Module):
    """The Emo-CLAP, ML-GEmo-CLAP and SL-GEmo-CLAP training objectives.

    - ``"emo"`` (Emo-CLAP): target ``M_e[i, j] = [e_i == e_j]``.
    - ``"ml"`` (ML-GEmo-CLAP): ``alpha_e * L_emo + alpha_g * L_gen``, where
      ``L_gen`` has the same form on the gender logits
      ``gender_scale * A @ U[g].T`` (``U`` the gender prompt embeddings)
      with target ``M_g``.
    - ``"sl"`` (SL-GEmo-CLAP): emotion logits only, target
      ``alpha_e * M_e + alpha_g * M_g``.

    Unknown gender (label ``UNKNOWN`` = -1, for corpora or speakers whose
    gender is not known; the emotion label must always be known):

    - ``"sl"``: an unknown gender agrees with nobody in ``M_g``, not even
      with itself: ``M_g[i, j] = [g_i == g_j and g_i >= 0]``. The row of
      such an utterance is ``alpha_e * M_e[i]`` alone before normalisation
      (so it needs ``alpha_e > 0``); a batch with no known gender gives the
      Emo-CLAP loss.
    - ``"ml"``: ``L_gen`` is computed on the sub-batch of the ``n`` known
      utterances only (an ``n x n`` logit matrix and target), and its
      weight stays ``alpha_g``; with no known gender in the batch ``L_gen``
      is 0 (``alpha_e * L_emo`` remains, and no NaN arises).
    - ``"emo"``: gender is not used.

    The text side is given as one embedding per class (``K x d``) and
    indexed by the labels, so the text tower only ever encodes the ``K``
    class prompts. Autocast is disabled inside and half-precision inputs are
    upcast to float32.

    Arguments
    ---------
    objective : str
        ``"emo"``, ``"ml"`` or ``"sl"``.
    alpha_e : float
        Emotion weight (``ml`` and ``sl``); ``alpha_e + alpha_g`` must be 1.
    alpha_g : float
        Gender weight (``ml`` and ``sl``).
    target_norm : str
        Row normalisation of the target, ``"l1"`` (divide by the row sum,
        the default) or ``"softmax"``.

    Example
    -------
    >>> loss_fn = GEmoCLAPLoss("sl", alpha_e=0.8, alpha_g=0.2)
    >>> audio = F.normalize(torch.randn(4, 8), dim=-1)
    >>> prompts = F.normalize(torch.randn(3, 8), dim=-1)
    >>> emo, gender = torch.tensor([0, 2, 2, 1]), torch.tensor([0, 1, 0, 1])
    >>> loss = loss_fn(audio, prompts, emo, 14.3, gender_labels=gender)
    >>> loss.shape, bool(loss >= 0)
    (torch.Size([]), True)
    >>> ml = GEmoCLAPLoss("ml")
    >>> genders = F.normalize(torch.randn(2, 8), dim=-1)
    >>> loss, parts = ml(
    ...     audio, prompts, emo, 14.3, gender, genders, 14.3,
    ...     return_components=True,
    ... )
    >>> sorted(parts)
    ['emo', 'gender']
    """

    def __init__(
        self, objective="emo", alpha_e=0.8, alpha_g=0.2, target_norm="l1"
    ):
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {OBJECTIVES}, got {objective!r}"
            )
        if target_norm not in TARGET_NORMS:
            raise ValueError(
                f"target_norm must be one of {TARGET_NORMS}, "
                f"got {target_norm!r}"
            )
        alpha_e, alpha_g = float(alpha_e), float(alpha_g)
        if alpha_e < 0 or alpha_g < 0:
            raise ValueError(
                "alpha_e and alpha_g must be non-negative, got "
                f"alpha_e={alpha_e}, alpha_g={alpha_g}"
            )
        if objective != "emo" and abs(alpha_e + alpha_g - 1.0) > 1e-6:
            raise ValueError(
                f"alpha_e + alpha_g must be 1 for objective {objective!r}, "
                f"got alpha_e={alpha_e} + alpha_g={alpha_g} = "
                f"{alpha_e + alpha_g}"
            )
        self.objective = objective
        self.alpha_e = alpha_e
        self.alpha_g = alpha_g
        self.target_norm = target_norm

    def forward(
        self,
        audio_emb,
        prompt_emb,
        emo_labels,
        logit_scale,
        gender_labels=None,
        gender_prompt_emb=None,
        gender_logit_scale=None,
        return_components=False,
    ):
        """Computes the loss of a batch.

        Arguments
        ---------
        audio_emb : torch.Tensor
            ``N x d`` audio embeddings (L2-normalised by the model).
        prompt_emb : torch.Tensor
            ``K x d`` emotion prompt embeddings, one row per class.
        emo_labels : torch.Tensor
            Integer emotion labels in ``[0, K)``, shape ``N`` or ``N x 1``.
        logit_scale : torch.Tensor or float
            Multiplicative emotion scale (already exponentiated and
            clamped).
        gender_labels : torch.Tensor, optional
            Integer gender labels, shape ``N``, ``UNKNOWN`` (-1) where not
            known; required for ``ml``/``sl``.
        gender_prompt_emb : torch.Tensor, optional
            ``2 x d`` gender prompt embeddings; required for ``ml``.
        gender_logit_scale : torch.Tensor or float, optional
            Multiplicative gender scale; required for ``ml``.
        return_components : bool
            If True, also return a dict of the unweighted terms
            (``"emo"``, and ``"gender"`` for ``ml``), for logging.

        Returns
        -------
        loss : torch.Tensor
            Scalar loss.
        components : dict
            Only if ``return_components``: name to scalar tensor.
        """
        device_type = audio_emb.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            return self._forward(
                _upcast(audio_emb),
                _upcast(prompt_emb),
                emo_labels,
                logit_scale,
                gender_labels,
                gender_prompt_emb,
                gender_logit_scale,
                return_components,
            )

    def _forward(
        self,
        audio_emb,
        prompt_emb,
        emo_labels,
        logit_scale,
        gender_labels,
        gender_prompt_emb,
        gender_logit_scale,
        return_components,
    ):
        if self.objective != "emo" and gender_labels is None:
            raise ValueError(
                f"objective {self.objective!r} needs gender_labels"
            )
        if self.objective == "ml" and (
            gender_prompt_emb is None or gender_logit_scale is None
        ):
            raise ValueError(
                "objective 'ml' needs gender_prompt_emb and "
                "gender_logit_scale (the model must have gender prompts)"
            )
        device = audio_emb.device
        emo_labels = _flat_labels(emo_labels, len(audio_emb)).to(device)
        if gender_labels is not None:
            gender_labels = _flat_labels(gender_labels, len(audio_emb))
            gender_labels = gender_labels.to(device)
            if gender_labels.numel() and gender_labels.min() < UNKNOWN:
                raise ValueError(
                    "gender labels must be class indices or -1 (unknown), "
                    f"got {gender_labels.min().item()}"
                )
            if (
                self.objective == "sl"
                and self.alpha_e == 0
                and bool((gender_labels < 0).any())
            ):
                raise ValueError(
                    "objective 'sl' with alpha_e=0 has no target for an "
                    "utterance of unknown gender; use alpha_e > 0"
                )

        logits = _logits(audio_emb, prompt_emb, emo_labels, logit_scale)
        if self.objective == "sl":
            target = build_targets(
                emo_labels,
                gender_labels,
                self.alpha_e,
                self.alpha_g,
                logits.dtype,
            )
        else:
            target = label_equality(emo_labels, logits.dtype)
        loss = soft_contrastive_kl(logits, target, self.target_norm)
        components = {"emo": loss.detach()}

        if self.objective == "ml":
            gender_loss = self._gender_loss(
                audio_emb,
                _upcast(gender_prompt_emb),
                gender_labels,
                gender_logit_scale,
                logits.dtype,
            )
            components["gender"] = gender_loss.detach()
            loss = self.alpha_e * loss + self.alpha_g * gender_loss

        if return_components:
            return loss, components
        return loss

    def _gender_loss(self, audio_emb, gender_emb, labels, scale, dtype):
        """ML-GEmo-CLAP's gender term over the utterances of known gender.

        Arguments
        ---------
        audio_emb : torch.Tensor
            ``N x d`` audio embeddings.
        gender_emb : torch.Tensor
            ``2 x d`` gender prompt embeddings.
        labels : torch.Tensor
            ``N`` gender labels, -1 where unknown.
        scale : torch.Tensor or float
            Multiplicative gender scale.
        dtype : torch.dtype
            Floating type of the target.

        Returns
        -------
        torch.Tensor
            Scalar loss; 0 when no gender in the batch is known.
        """
        known = labels >= 0
        if not bool(known.any()):
            # Zero, yet tied to the graph, so every process of a distributed
            # run computes gradients for the same parameters.
            return (audio_emb.sum() + gender_emb.sum()) * 0.0
        labels = labels[known]
        gender_logits = _logits(audio_emb[known], gender_emb, labels, scale)
        return soft_contrastive_kl(
            gender_logits, label_equality(labels, dtype), self.target_norm
        )


def _logits(audio_emb, class_emb, labels, scale):
    """``scale * A @ class_emb[labels].T``, checking the label range."""
    if labels.numel() and (
        labels.min() < 0 or labels.max() >= class_emb.shape[0]
    ):
        raise ValueError(
            f"labels must lie in [0, {class_emb.shape[0]}) to index the "
            f"{class_emb.shape[0]} prompt embeddings, got "
            f"{labels.min().item()}..{labels.max().item()}"
        )
    scale = torch.as_tensor(scale, device=audio_emb.device)
    class_emb = class_emb.to(audio_emb.dtype)
    return scale.to(audio_emb.dtype) * audio_emb @ class_emb[labels].t()


def _upcast(x):
    """Half-precision inputs are computed in float32 (softmax, log)."""
    if x.dtype in (torch.float16, torch.bfloat16):
        return x.float()
    return x


def _flat_labels(labels, expected=None):
    """Labels as a 1-D long tensor, accepting SpeechBrain's ``N x 1``."""
    labels = torch.as_tensor(labels)
    if labels.dim() == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 1:
        raise ValueError(
            f"labels must have shape N or N x 1, got {tuple(labels.shape)}"
        )
    if expected is not None and labels.shape[0] != expected:
        raise ValueError(
            f"got {labels.shape[0]} labels for {expected} audio embeddings"
        )
    return labels.long()


def concordance_correlation(predictions, targets):
    """Lin's concordance correlation coefficient of each column, over the
    rows whose target is known.

    ``CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)`` with
    population moments (divided by ``n``, as in Lin 1989), ``x`` the
    predictions and ``y`` the targets of the ``n`` rows whose target is
    finite (NaN marks a missing value). It is 1 for perfect agreement and
    penalises both a weak correlation and a shift or rescaling of the
    predictions. A column with fewer than two known targets gets 0, and so
    does one whose predictions and targets are all one and the same value
    (the denominator is kept above 1e-12): no NaN, so that gradients stay
    finite.

    Arguments
    ---------
    predictions : torch.Tensor
        ``N x D`` predictions.
    targets : torch.Tensor
        ``N x D`` targets, NaN where unknown.

    Returns
    -------
    ccc : torch.Tensor
        ``D`` coefficients.
    counts : torch.Tensor
        ``D`` numbers of known targets (long).

    Example
    -------
    >>> pred = torch.tensor([[1.0], [2.0], [3.0]])
    >>> ccc, counts = concordance_correlation(pred, pred + 1)
    >>> round(ccc.item(), 4), counts.tolist()  # 2 (2/3) / (4/3 + 1)
    (0.5714, [3])
    >>> nan = float("nan")
    >>> concordance_correlation(pred, torch.tensor([[1.0], [nan], [nan]]))
    (tensor([0.]), tensor([1]))
    """
    if predictions.dim() != 2 or predictions.shape != targets.shape:
        raise ValueError(
            "predictions and targets must both be N x D, got shapes "
            f"{tuple(predictions.shape)} and {tuple(targets.shape)}"
        )
    known = torch.isfinite(targets)
    weight = known.to(predictions.dtype)
    targets = torch.where(known, targets, torch.zeros_like(targets))
    counts = known.sum(dim=0)
    n = weight.sum(dim=0).clamp_min(1.0)
    mean_x = (weight * predictions).sum(dim=0) / n
    mean_y = (weight * targets).sum(dim=0) / n
    dev_x = weight * (predictions - mean_x)
    dev_y = weight * (targets - mean_y)
    var_x = (dev_x * dev_x).sum(dim=0) / n
    var_y = (dev_y * dev_y).sum(dim=0) / n
    cov = (dev_x * dev_y).sum(dim=0) / n
    denominator = var_x + var_y + (mean_x - mean_y) ** 2
    ccc = 2.0 * cov / denominator.clamp_min(1e-12)
    ccc = torch.where(counts >= 2, ccc, torch.zeros_like(ccc))
    return ccc, counts


def concordance_loss(predictions, targets):
    """The dimensional objective: the mean over the dimensions of ``1 -
    CCC`` over the batch (:func:`concordance_correlation`).

    Rows without a target (NaN) are left out of their dimension; a
    dimension with fewer than two known targets in the batch is left out
    of the mean, and a batch where no dimension has two is a zero loss
    (tied to the graph, so that every process of a distributed run has
    gradients for the same parameters). Autocast is disabled inside and
    half-precision inputs are upcast to float32.

    Arguments
    ---------
    predictions : torch.Tensor
        ``N x D`` predictions (on [0, 1] for the model's head).
    targets : torch.Tensor
        ``N x D`` targets on the same scale, NaN where unknown.

    Returns
    -------
    torch.Tensor
        Scalar loss in [0, 2].

    Example
    -------
    >>> pred = torch.tensor([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]])
    >>> concordance_loss(pred, pred)  # CCC 1 on both dimensions
    tensor(0.)
    >>> concordance_loss(pred, -pred + 1)  # CCC -1 on both
    tensor(2.)
    >>> concordance_loss(pred, torch.full((3, 2), float("nan")))
    tensor(0.)
    """
    with torch.autocast(device_type=predictions.device.type, enabled=False):
        predictions = _upcast(predictions)
        targets = targets.to(predictions.dtype)
        ccc, counts = concordance_correlation(predictions, targets)
        counted = counts >= 2
        if not bool(counted.any()):
            return predictions.sum() * 0.0
        return (1.0 - ccc[counted]).mean()
