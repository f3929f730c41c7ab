"""Tests of the Emo-CLAP / GEmo-CLAP losses.

Expected values come from closed forms or from a plain-Python reference
(lists, loops and ``math``), never from the implementation's formula.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from speechbrain_gemo.losses import (
    GEmoCLAPLoss,
    build_targets,
    label_equality,
    normalize_targets,
    row_kl_divergence,
    soft_contrastive_kl,
)

NORMS = ("l1", "softmax")
OBJECTIVES = ("emo", "ml", "sl")

# ------------------------------------------------------- python reference


def ref_softmax(row):
    top = max(row)
    exps = [math.exp(v - top) for v in row]
    return [e / sum(exps) for e in exps]


def ref_normalize(matrix, mode):
    if mode == "l1":
        return [[v / sum(row) for v in row] for row in matrix]
    return [ref_softmax(row) for row in matrix]


def ref_transpose(matrix):
    return [list(col) for col in zip(*matrix)]


def ref_kl(target, logits):
    total = 0.0
    for t_row, c_row in zip(target, logits):
        pred = ref_softmax(c_row)
        for p, q in zip(t_row, pred):
            if p > 0:
                total += p * (math.log(p) - math.log(q))
    return total / len(target)


def ref_symmetric(logits, target, mode):
    forward = ref_kl(ref_normalize(target, mode), logits)
    backward = ref_kl(
        ref_normalize(ref_transpose(target), mode), ref_transpose(logits)
    )
    return 0.5 * (forward + backward)


def ref_logits(audio, classes, labels, scale):
    return [
        [scale * sum(a * t for a, t in zip(row, classes[j])) for j in labels]
        for row in audio
    ]


def ref_equal(labels, weight=1.0):
    return [[weight * (a == b) for b in labels] for a in labels]


def ref_loss(
    objective,
    norm,
    audio,
    prompts,
    emo,
    scale,
    gender=None,
    gender_prompts=None,
    gender_scale=None,
    ae=0.8,
    ag=0.2,
):
    logits = ref_logits(audio, prompts, emo, scale)
    if objective == "emo":
        return ref_symmetric(logits, ref_equal(emo), norm)
    if objective == "sl":
        target = [
            [x + y for x, y in zip(r1, r2)]
            for r1, r2 in zip(ref_equal(emo, ae), ref_equal(gender, ag))
        ]
        return ref_symmetric(logits, target, norm)
    gender_logits = ref_logits(audio, gender_prompts, gender, gender_scale)
    return ae * ref_symmetric(logits, ref_equal(emo), norm) + ag * (
        ref_symmetric(gender_logits, ref_equal(gender), norm)
    )


def tensors(*lists):
    return [torch.tensor(x, dtype=torch.float64) for x in lists]


# Small batch with 2-d embeddings (N = 3, K = 2)
AUDIO = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
PROMPTS = [[1.0, 0.0], [0.0, 1.0]]
GENDER_PROMPTS = [[0.8, 0.6], [-0.6, 0.8]]
EMO = [0, 1, 0]
GENDER = [0, 1, 1]


def run_loss(
    objective,
    norm,
    audio=AUDIO,
    emo=EMO,
    gender=GENDER,
    scale=2.0,
    ae=0.8,
    ag=0.2,
    **kwargs,
):
    loss_fn = GEmoCLAPLoss(objective, ae, ag, norm)
    audio_t, prompts_t, genders_t = tensors(audio, PROMPTS, GENDER_PROMPTS)
    return loss_fn(
        audio_t,
        prompts_t,
        torch.tensor(emo),
        scale,
        gender_labels=torch.tensor(gender),
        gender_prompt_emb=genders_t,
        gender_logit_scale=3.0,
        **kwargs,
    )


# ------------------------------------------------------------ hand values


def test_closed_form_two_distinct_labels():
    # C = s * I, target I: each row's KL is -log(e^s / (e^s + 1))
    s = 2.0
    audio, prompts = tensors([[1.0, 0.0], [0.0, 1.0]], PROMPTS)
    labels = torch.tensor([0, 1])
    loss = GEmoCLAPLoss("emo", target_norm="l1")(audio, prompts, labels, s)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-s)), abs=1e-12)

    # softmax target rows are (e, 1) / (e + 1): matched exactly at s = 1
    soft = GEmoCLAPLoss("emo", target_norm="softmax")
    assert soft(audio, prompts, labels, 1.0).item() == pytest.approx(
        0.0, abs=1e-12
    )
    t1, t2 = math.e / (math.e + 1), 1 / (math.e + 1)
    q1, q2 = math.exp(s) / (math.exp(s) + 1), 1 / (math.exp(s) + 1)
    expected = t1 * math.log(t1 / q1) + t2 * math.log(t2 / q2)
    assert soft(audio, prompts, labels, s).item() == pytest.approx(
        expected, abs=1e-12
    )


def test_closed_form_two_equal_labels():
    # T = [[1, 0], [1, 0]] so C = s * [[1, 1], [0, 0]]: the audio rows are
    # uniform (no loss), each text row is softmax(s, 0) against (1/2, 1/2)
    s = 3.0
    audio, prompts = tensors([[1.0, 0.0], [0.0, 1.0]], PROMPTS)
    loss = GEmoCLAPLoss("emo")(audio, prompts, torch.tensor([0, 0]), s)
    q1 = math.exp(s) / (math.exp(s) + 1)
    text_kl = 0.5 * math.log(0.5 / q1) + 0.5 * math.log(0.5 / (1 - q1))
    assert loss.item() == pytest.approx(0.5 * text_kl, abs=1e-12)


def test_hand_logits_and_targets():
    # audio 3 = (0.6, 0.8) scores 0.6 with prompt 0 and 0.8 with prompt 1
    logits = ref_logits(AUDIO, PROMPTS, EMO, 2.0)
    assert logits[2] == pytest.approx([1.2, 1.6, 1.2])
    target = build_targets(torch.tensor(EMO), torch.tensor(GENDER), 0.8, 0.2)
    expected = [[1.0, 0.0, 0.8], [0.0, 1.0, 0.2], [0.8, 0.2, 1.0]]
    torch.testing.assert_close(target, torch.tensor(expected))
    # l1 row of [0.8, 0.2, 1.0] is [0.4, 0.1, 0.5]
    torch.testing.assert_close(
        normalize_targets(target)[2], torch.tensor([0.4, 0.1, 0.5])
    )
    row = [0.0, 1.0, 0.2]
    total = sum(math.exp(v) for v in row)
    torch.testing.assert_close(
        normalize_targets(target, "softmax")[1],
        torch.tensor([math.exp(v) / total for v in row]),
    )


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_loss_matches_python_reference(objective, norm):
    expected = ref_loss(
        objective, norm, AUDIO, PROMPTS, EMO, 2.0, GENDER, GENDER_PROMPTS, 3.0
    )
    loss = run_loss(objective, norm)
    assert loss.item() == pytest.approx(expected, abs=1e-10)
    assert loss.item() > 0.01


def test_objectives_and_norms_differ():
    values = {(o, n): run_loss(o, n).item() for o in OBJECTIVES for n in NORMS}
    assert len({round(v, 8) for v in values.values()}) == len(values)


def test_ml_is_weighted_sum_of_components():
    loss, parts = run_loss("ml", "l1", return_components=True)
    assert set(parts) == {"emo", "gender"}
    assert loss.item() == pytest.approx(
        0.8 * parts["emo"].item() + 0.2 * parts["gender"].item()
    )
    assert parts["emo"].item() == pytest.approx(run_loss("emo", "l1").item())
    _, parts = run_loss("sl", "l1", return_components=True)
    assert set(parts) == {"emo"}


# ---------------------------------------------------- minimum and symmetry


@pytest.mark.parametrize("norm", NORMS)
def test_zero_exactly_at_target(norm):
    target = build_targets(
        torch.tensor([0, 1, 0, 2]), torch.tensor([0, 0, 0, 0]), 0.8, 0.2
    ).double()  # strictly positive: same gender everywhere
    logits = target.log() if norm == "l1" else target.clone()
    assert soft_contrastive_kl(logits, target, norm).item() == pytest.approx(
        0.0, abs=1e-12
    )
    # a constant shift changes no softmax row or column
    shifted = soft_contrastive_kl(logits + 5.0, target, norm)
    assert shifted.item() == pytest.approx(0.0, abs=1e-12)
    perturbed = logits.clone()
    perturbed[1, 2] += 0.3
    assert soft_contrastive_kl(perturbed, target, norm).item() > 1e-4


def test_zero_for_orthonormal_prompts_with_softmax_targets():
    # A = P[e] with orthonormal P and scale 1 gives C = M_e = the target
    prompts = torch.eye(3, dtype=torch.float64)
    labels = torch.tensor([0, 2, 2, 1])
    loss_fn = GEmoCLAPLoss("emo", target_norm="softmax")
    loss = loss_fn(prompts[labels], prompts, labels, 1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    assert loss_fn(prompts[labels], prompts, labels, 2.0).item() > 1e-3


@pytest.mark.parametrize("norm", NORMS)
def test_symmetric_in_audio_and_text(norm):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 5, generator=gen, dtype=torch.float64)
    target = torch.rand(5, 5, generator=gen, dtype=torch.float64) + 0.1
    a = soft_contrastive_kl(logits, target, norm)
    b = soft_contrastive_kl(logits.t(), target.t(), norm)
    assert a.item() == pytest.approx(b.item(), abs=1e-12)
    # not trivially symmetric: each direction alone differs
    one_way = row_kl_divergence(normalize_targets(target, norm), logits)
    other = row_kl_divergence(normalize_targets(target.t(), norm), logits.t())
    assert abs(one_way - other) > 1e-3
    assert a.item() == pytest.approx(0.5 * (one_way + other).item())


def test_swapping_audio_and_text_roles():
    audio, prompts = tensors(AUDIO, PROMPTS)
    labels = torch.tensor(EMO)
    texts = prompts[labels]
    target = label_equality(labels)
    loss = GEmoCLAPLoss("emo")(audio, prompts, labels, 2.0)
    swapped = soft_contrastive_kl(2.0 * texts @ audio.t(), target)
    assert loss.item() == pytest.approx(swapped.item(), abs=1e-12)


def test_row_kl_matches_torch_kl_div_batchmean():
    gen = torch.Generator().manual_seed(1)
    target = torch.softmax(torch.randn(4, 6, generator=gen), -1)
    target[0, :3] = 0
    target = target / target.sum(-1, keepdim=True)
    logits = torch.randn(4, 6, generator=gen)
    expected = F.kl_div(
        F.log_softmax(logits, -1), target, reduction="batchmean"
    )
    torch.testing.assert_close(row_kl_divergence(target, logits), expected)


# ------------------------------------------------------------ edge cases


def random_inputs(n, k=4, d=6, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    audio = F.normalize(torch.randn(n, d, generator=gen, dtype=dtype), dim=-1)
    prompts = F.normalize(torch.randn(k, d, generator=gen, dtype=dtype), dim=-1)
    genders = F.normalize(torch.randn(2, d, generator=gen, dtype=dtype), dim=-1)
    return audio.requires_grad_(), prompts.requires_grad_(), genders


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize(
    "emo,gender",
    [([2], [1]), ([1, 1, 1, 1], [0, 0, 0, 0]), ([0, 1, 2, 3], [0, 1, 0, 1])],
    ids=["one", "all-equal", "all-distinct"],
)
def test_finite_loss_and_gradients(objective, norm, emo, gender):
    audio, prompts, genders = random_inputs(len(emo))
    scale = torch.tensor(14.0, dtype=torch.float64, requires_grad=True)
    loss = GEmoCLAPLoss(objective, target_norm=norm)(
        audio,
        prompts,
        torch.tensor(emo),
        scale,
        torch.tensor(gender),
        genders,
        10.0,
    )
    loss.backward()
    assert torch.isfinite(loss) and loss >= 0
    for grad in (audio.grad, prompts.grad, scale.grad):
        assert torch.isfinite(grad).all()
    if len(emo) == 1:
        # a single pair is its own target in both directions
        assert loss.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_no_nan_at_clamped_scale_with_extreme_embeddings(objective, norm):
    prompts = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    # every audio is the opposite of its own prompt: logits of +-100
    emo = torch.tensor([0, 1, 0, 1, 1])
    audio = (-prompts[emo]).requires_grad_()
    genders = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    log_scale = torch.tensor(math.log(100.0) + 3.0, requires_grad=True)
    scale = log_scale.clamp(max=math.log(100.0)).exp()
    loss = GEmoCLAPLoss(objective, target_norm=norm)(
        audio, prompts, emo, scale, emo, genders, scale
    )
    loss.backward()
    assert torch.isfinite(loss) and loss > 10
    assert torch.isfinite(audio.grad).all()
    assert log_scale.grad.item() == 0.0  # past the clamp


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("objective", ("ml", "sl"))
def test_alpha_g_zero_equals_emo_clap(objective, norm):
    emo = run_loss("emo", norm, ae=1.0, ag=0.0)
    gemo = run_loss(objective, norm, ae=1.0, ag=0.0)
    assert gemo.item() == pytest.approx(emo.item(), abs=1e-12)
    assert run_loss(objective, norm).item() != pytest.approx(emo.item())


def test_half_precision_inputs_are_upcast():
    audio, prompts, _ = random_inputs(4, dtype=torch.float32)
    labels = torch.tensor([0, 1, 1, 3])
    loss_fn = GEmoCLAPLoss("emo")
    ref = loss_fn(
        audio.bfloat16().float(), prompts.bfloat16().float(), labels, 20.0
    )
    half = loss_fn(audio.bfloat16(), prompts.bfloat16(), labels, 20.0)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, ref)


def test_speechbrain_n_by_1_labels_accepted():
    flat = run_loss("sl", "l1")
    audio, prompts = tensors(AUDIO, PROMPTS)
    column = GEmoCLAPLoss("sl")(
        audio,
        prompts,
        torch.tensor(EMO)[:, None],
        2.0,
        gender_labels=torch.tensor(GENDER)[:, None],
    )
    assert column.item() == pytest.approx(flat.item())


def test_argument_validation():
    with pytest.raises(ValueError, match="'bogus'"):
        GEmoCLAPLoss("bogus")
    with pytest.raises(ValueError, match="'l2'"):
        GEmoCLAPLoss(target_norm="l2")
    with pytest.raises(ValueError, match="-0.1"):
        GEmoCLAPLoss("sl", alpha_e=1.1, alpha_g=-0.1)
    with pytest.raises(ValueError, match=r"alpha_e=0.7 \+ alpha_g=0.2"):
        GEmoCLAPLoss("ml", alpha_e=0.7, alpha_g=0.2)
    GEmoCLAPLoss("sl", alpha_e=0.7, alpha_g=0.3 + 1e-9)
    GEmoCLAPLoss("emo", alpha_e=0.5, alpha_g=0.1)  # alphas unused
    audio, prompts = tensors(AUDIO, PROMPTS)
    labels = torch.tensor(EMO)
    with pytest.raises(ValueError, match="gender_labels"):
        GEmoCLAPLoss("sl")(audio, prompts, labels, 2.0)
    with pytest.raises(ValueError, match="gender_prompt_emb"):
        GEmoCLAPLoss("ml")(audio, prompts, labels, 2.0, torch.tensor(GENDER))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        GEmoCLAPLoss("emo")(audio, prompts, torch.tensor([0, 2, 1]), 2.0)
    with pytest.raises(ValueError, match="2 labels for 3"):
        GEmoCLAPLoss("emo")(audio, prompts, torch.tensor([0, 1]), 2.0)


# -------------------------------------------------------- property tests


@st.composite
def batches(draw):
    n = draw(st.integers(1, 7))
    k = draw(st.integers(1, 4))
    emo = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    gender = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.floats(0.01, 100.0))
    alpha_e = draw(st.floats(0.0, 1.0))
    objective = draw(st.sampled_from(OBJECTIVES))
    norm = draw(st.sampled_from(NORMS))
    return dict(
        n=n,
        k=k,
        emo=emo,
        gender=gender,
        seed=seed,
        scale=scale,
        alpha_e=alpha_e,
        objective=objective,
        norm=norm,
    )


def evaluate(b, audio, prompts, genders, emo, gender):
    loss_fn = GEmoCLAPLoss(
        b["objective"], b["alpha_e"], 1.0 - b["alpha_e"], b["norm"]
    )
    return loss_fn(audio, prompts, emo, b["scale"], gender, genders, 7.0)


@settings(max_examples=60, deadline=None)
@given(batches())
def test_property_matches_reference_and_is_nonnegative(b):
    audio, prompts, genders = random_inputs(b["n"], b["k"], 3, b["seed"])
    loss = evaluate(
        b,
        audio,
        prompts,
        genders,
        torch.tensor(b["emo"]),
        torch.tensor(b["gender"]),
    )
    expected = ref_loss(
        b["objective"],
        b["norm"],
        audio.tolist(),
        prompts.tolist(),
        b["emo"],
        b["scale"],
        b["gender"],
        genders.tolist(),
        7.0,
        b["alpha_e"],
        1.0 - b["alpha_e"],
    )
    assert torch.isfinite(loss)
    assert loss.item() >= -1e-12
    assert loss.item() == pytest.approx(expected, rel=1e-7, abs=1e-9)
    loss.backward()
    assert torch.isfinite(audio.grad).all()


@settings(max_examples=40, deadline=None)
@given(batches(), st.randoms(use_true_random=False))
def test_property_permutation_invariance(b, rnd):
    audio, prompts, genders = random_inputs(b["n"], b["k"], 4, b["seed"])
    emo, gender = torch.tensor(b["emo"]), torch.tensor(b["gender"])
    base = evaluate(b, audio, prompts, genders, emo, gender)
    # permuting the batch consistently
    order = list(range(b["n"]))
    rnd.shuffle(order)
    order = torch.tensor(order)
    batch_perm = evaluate(
        b, audio[order], prompts, genders, emo[order], gender[order]
    )
    # renumbering the classes consistently
    classes = list(range(b["k"]))
    rnd.shuffle(classes)
    new_of_old = torch.tensor(classes)
    renumbered = torch.empty_like(prompts)
    renumbered[new_of_old] = prompts
    class_perm = evaluate(
        b, audio, renumbered, genders, new_of_old[emo], gender
    )
    assert batch_perm.item() == pytest.approx(base.item(), abs=1e-10)
    assert class_perm.item() == pytest.approx(base.item(), abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(0, 2**16),
    st.sampled_from(NORMS),
    st.floats(0.05, 5.0),
)
def test_property_minimum_exactly_at_target(n, seed, norm, noise):
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(n, n, generator=gen, dtype=torch.float64) + 0.05
    optimum = target.log() if norm == "l1" else target
    assert soft_contrastive_kl(optimum, target, norm).item() == pytest.approx(
        0.0, abs=1e-12
    )
    other = optimum + noise * torch.randn(
        n, n, generator=gen, dtype=torch.float64
    )
    value = soft_contrastive_kl(other, target, norm).item()
    assert value >= 0.0
    # only constant shifts keep both the rows and the columns in place
    centered = other - optimum
    if n > 1 and (centered - centered.mean()).abs().max() > 1e-3:
        assert value > 1e-10


# ------------------------------------------------------- unknown gender


def np_symmetric_kl(logits, target):
    """Symmetric row KL with l1-normalised targets, in plain numpy."""

    def one_way(t, c):
        t = t / t.sum(axis=1, keepdims=True)
        log_q = c - c.max(axis=1, keepdims=True)
        log_q = log_q - np.log(np.exp(log_q).sum(axis=1, keepdims=True))
        safe = np.where(t > 0, t, 1.0)
        return (np.where(t > 0, t * (np.log(safe) - log_q), 0.0)).sum() / len(t)

    return 0.5 * (one_way(target, logits) + one_way(target.T, logits.T))


def test_sl_unknown_gender_agrees_with_nobody():
    # EMO [0, 1, 0], gender [unknown, 1, 1]: M_g is zero on row/column 0,
    # so target[0, 0] is alpha_e alone.
    target = np.array(
        [
            [0.8, 0.0, 0.8],
            [0.0, 1.0, 0.2],
            [0.8, 0.2, 1.0],
        ]
    )
    logits = 2.0 * np.array(AUDIO) @ np.array(PROMPTS)[EMO].T
    expected = np_symmetric_kl(logits, target)
    loss = run_loss("sl", "l1", gender=[-1, 1, 1])
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    # Not the same as a third gender class, which would agree with itself.
    third_class = run_loss("sl", "l1", gender=[2, 1, 1])
    assert abs(third_class.item() - loss.item()) > 1e-4


def test_sl_all_unknown_is_emo_clap():
    loss = run_loss("sl", "l1", gender=[-1, -1, -1])
    emo = run_loss("emo", "l1")
    assert loss.item() == pytest.approx(emo.item(), abs=1e-12)


def test_ml_gender_term_over_known_only():
    # Known: utterances 1 (gender 1) and 2 (gender 0); a 2 x 2 problem.
    audio = np.array(AUDIO)
    genders = np.array(GENDER_PROMPTS)
    gender_logits = 3.0 * audio[[1, 2]] @ genders[[1, 0]].T
    gender_term = np_symmetric_kl(gender_logits, np.eye(2))
    emo_logits = 2.0 * audio @ np.array(PROMPTS)[EMO].T
    emo_target = np.array([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])
    emo_term = np_symmetric_kl(emo_logits, emo_target)
    loss, parts = run_loss(
        "ml", "l1", gender=[-1, 1, 0], return_components=True
    )
    assert parts["gender"].item() == pytest.approx(gender_term, abs=1e-12)
    assert parts["emo"].item() == pytest.approx(emo_term, abs=1e-12)
    assert loss.item() == pytest.approx(
        0.8 * emo_term + 0.2 * gender_term, abs=1e-12
    )


def test_ml_no_known_gender_gives_zero_term_and_finite_gradients():
    audio = torch.tensor(AUDIO, dtype=torch.float64, requires_grad=True)
    genders = torch.tensor(GENDER_PROMPTS, dtype=torch.float64)
    genders.requires_grad_(True)
    loss, parts = GEmoCLAPLoss("ml", 0.8, 0.2)(
        audio,
        torch.tensor(PROMPTS, dtype=torch.float64),
        torch.tensor(EMO),
        2.0,
        gender_labels=torch.tensor([-1, -1, -1]),
        gender_prompt_emb=genders,
        gender_logit_scale=3.0,
        return_components=True,
    )
    assert parts["gender"].item() == 0.0
    emo_logits = 2.0 * np.array(AUDIO) @ np.array(PROMPTS)[EMO].T
    emo_target = np.array([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])
    expected = 0.8 * np_symmetric_kl(emo_logits, emo_target)
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    loss.backward()
    assert torch.isfinite(audio.grad).all()
    assert genders.grad is not None and (genders.grad == 0).all()


def test_unknown_gender_validation():
    with pytest.raises(ValueError, match="-1 \\(unknown\\)"):
        run_loss("sl", "l1", gender=[-2, 1, 1])
    with pytest.raises(ValueError, match="alpha_e=0"):
        run_loss("sl", "l1", gender=[-1, 1, 1], ae=0.0, ag=1.0)
    # Emotion labels stay required.
    with pytest.raises(ValueError, match="must lie in"):
        run_loss("emo", "l1", emo=[-1, 1, 0])
