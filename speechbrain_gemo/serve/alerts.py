"""Alert rules of the emotion server (``--alert``): a rule
``ROLE:CLASS:SHARE:SECONDS`` (default ``customer:angry:0.5:30``) fires
when, among ``ROLE``'s windows whose centre lies in the last ``SECONDS``
of the call, the share classified as ``CLASS`` (a label or its code) is
above ``SHARE``, with at least ``MIN_ALERT_WINDOWS`` such windows. It
fires once when it becomes true, again only after it was false.

``AlertHub`` (the server's event hub when rules are set) runs the rules
over every call's ``emotion`` events and sends each firing as an
``alert`` event to the call's events subscribers; ``replay_alerts`` gives
the alerts of a finished call from its rows (the same rules over
``<call_id>.csv``).

Authors
 * speechbrain-gemo developers 2026
"""

import logging
import re
from collections import deque
from typing import NamedTuple

from speechbrain_gemo.serve.calls import EventHub

logger = logging.getLogger("speechbrain_gemo.serve")

DEFAULT_ALERT = "customer:angry:0.5:30"
# a rule needs this many of the role's windows in its span (5 s of speech
# at the default hop): one short utterance alone never alerts
MIN_ALERT_WINDOWS = 5

_RULE = re.compile(
    r"^\s*([^:]+?)\s*:\s*([^:]+?)\s*:\s*([0-9]*\.?[0-9]+)\s*:\s*"
    r"([0-9]*\.?[0-9]+)\s*s?\s*$"
)


class AlertRule(NamedTuple):
    """An alert rule (see the module docstring).

    Arguments
    ---------
    role : str
        Whose windows.
    label : str
        The class (a label of the model once resolved).
    share : float
        The share it must be above.
    seconds : float
        How far back from the end of the call.
    text : str
        The rule as written.
    """

    role: str
    label: str
    share: float
    seconds: float
    text: str


def parse_alert(text):
    """Reads an alert rule ``ROLE:CLASS:SHARE:SECONDS``.

    Arguments
    ---------
    text : str
        The rule, e.g. ``customer:angry:0.5:30``.

    Returns
    -------
    AlertRule
        Its parts (``label`` as written: a label or a word).

    Raises
    ------
    ValueError
        Naming the rule and the expected form.

    Example
    -------
    >>> parse_alert("customer:angry:0.5:30")
    AlertRule(role='customer', label='angry', share=0.5, seconds=30.0, \
text='customer:angry:0.5:30')
    >>> parse_alert("customer:angry")
    Traceback (most recent call last):
    ...
    ValueError: alert rule 'customer:angry': expected ROLE:CLASS:SHARE:SECONDS \
with 0 <= SHARE < 1 and SECONDS > 0, e.g. customer:angry:0.5:30
    """
    found = _RULE.match(str(text))
    share = float(found.group(3)) if found else -1.0
    seconds = float(found.group(4)) if found else 0.0
    if not found or not 0.0 <= share < 1.0 or not seconds > 0:
        raise ValueError(
            f"alert rule {text!r}: expected ROLE:CLASS:SHARE:SECONDS with "
            "0 <= SHARE < 1 and SECONDS > 0, e.g. customer:angry:0.5:30"
        )
    return AlertRule(
        found.group(1), found.group(2), share, seconds, str(text).strip()
    )


def resolve_alerts(texts, labels, codes=None):
    """The alert rules of the command line, their classes matched to the
    model's labels (its words, ``angry``) or their corpus codes (``ang``),
    case-insensitively.

    Arguments
    ---------
    texts : list of str or None
        ``--alert`` values; None: the default rule, dropped (with a
        warning) when the model has no such class; ``["none"]``: no rule.
    labels : list of str
        The model's classes.
    codes : list of str, optional
        Their codes (``label_codes`` of a model), in the same order.

    Returns
    -------
    list of AlertRule
        With model labels.

    Raises
    ------
    ValueError
        A rule that is malformed or names a class the model lacks.

    Example
    -------
    >>> labels = ["neutral", "angry"]
    >>> [r.label for r in resolve_alerts(None, labels)]
    ['angry']
    >>> rules = resolve_alerts(["a:ANG:0.5:9"], labels, ["neu", "ang"])
    >>> [r.label for r in rules]
    ['angry']
    >>> resolve_alerts(None, ["calm"]), resolve_alerts(["none"], ["angry"])
    ([], [])
    >>> resolve_alerts(["agent:bored:0.5:10"], labels)
    Traceback (most recent call last):
    ...
    ValueError: alert rule 'agent:bored:0.5:10': the model has no class \
'bored' (its classes: neutral, angry)
    """
    names = {str(label).lower(): label for label in labels}
    for code, label in zip(codes or (), labels):
        names.setdefault(str(code).lower(), label)
    default = texts is None
    if default:
        texts = [DEFAULT_ALERT]
    if [t.strip().lower() for t in texts] == ["none"]:
        return []
    rules = []
    for text in texts:
        rule = parse_alert(text)
        label = names.get(rule.label.lower())
        if label is None:
            message = (
                f"alert rule {text!r}: the model has no class "
                f"{rule.label!r} (its classes: {', '.join(labels)})"
            )
            if default:
                logger.warning("%s; no alert rule", message)
                continue
            raise ValueError(message)
        rules.append(rule._replace(label=label))
    return rules


class AlertWatch:
    """Runs alert rules over one call's windows, in the order they come.

    Arguments
    ---------
    rules : list of AlertRule
        The rules.
    call_id : str
        The call (put in each alert).

    Example
    -------
    >>> rule = parse_alert("customer:ang:0.5:10")
    >>> watch = AlertWatch([rule], "c1")
    >>> labels = ["neu", "ang", "ang", "ang", "ang", "ang"]
    >>> fired = [watch.feed("customer", k, k + 3.0, lab)
    ...          for k, lab in enumerate(labels)]
    >>> [len(f) for f in fired]
    [0, 0, 0, 0, 1, 0]
    >>> fired[4][0]["share"], fired[4][0]["windows"]
    (0.8, 5)
    """

    def __init__(self, rules, call_id):
        self.rules = list(rules)
        self.call_id = call_id
        self.span = max((r.seconds for r in self.rules), default=0.0)
        self.now = 0.0
        self.windows = {}  # role -> deque of (centre, label)
        self.firing = [False] * len(self.rules)

    def feed(self, speaker, start, end, label):
        """Takes one classified window; returns the alerts it fires.

        Arguments
        ---------
        speaker : str
            Its role.
        start : float
            Its start (seconds).
        end : float
            Its end.
        label : str
            Its class.

        Returns
        -------
        list of dict
            ``alert`` events.
        """
        if not self.rules:
            return []
        start, end = float(start), float(end)
        self.now = max(self.now, end)
        mine = self.windows.setdefault(speaker, deque())
        mine.append(((start + end) / 2, label))
        for windows in self.windows.values():
            while windows and windows[0][0] <= self.now - self.span:
                windows.popleft()
        alerts = []
        for k, rule in enumerate(self.rules):
            since = self.now - rule.seconds
            recent = [
                lab
                for centre, lab in self.windows.get(rule.role, ())
                if centre > since
            ]
            share = (
                sum(lab == rule.label for lab in recent) / len(recent)
                if recent
                else 0.0
            )
            now_firing = len(recent) >= MIN_ALERT_WINDOWS and share > rule.share
            if now_firing and not self.firing[k]:
                alerts.append(
                    {
                        "type": "alert",
                        "call_id": self.call_id,
                        "rule": rule.text,
                        "speaker": rule.role,
                        "label": rule.label,
                        "share": round(share, 4),
                        "windows": len(recent),
                        "start": round(max(0.0, since), 3),
                        "end": round(self.now, 3),
                    }
                )
            self.firing[k] = now_firing
        return alerts


def replay_alerts(rows, rules, call_id):
    """The alerts a finished call's rows fire, in order.

    Arguments
    ---------
    rows : list of dict
        Its rows (``speaker``, ``start``, ``end``, ``label``, ``error``).
    rules : list of AlertRule
        The rules.
    call_id : str
        The call.

    Returns
    -------
    list of dict
        ``alert`` events.

    Example
    -------
    >>> rows = [{"speaker": "a", "start": k, "end": k + 3, "label": "x",
    ...          "error": ""} for k in range(6)]
    >>> [a["end"] for a in replay_alerts(rows, [parse_alert("a:x:0.9:10")],
    ...                                  "c")]
    [7.0]
    """
    watch = AlertWatch(rules, call_id)
    alerts = []
    for row in rows:
        if not row.get("error"):
            alerts += watch.feed(
                row["speaker"], row["start"], row["end"], row["label"]
            )
    return alerts


class AlertHub(EventHub):
    """The server's event hub, watching every call's ``emotion`` events
    with the alert rules: an alert goes to the call's subscribers like any
    event, and is kept (``alerts``) while the call lasts.

    Arguments
    ---------
    queue_size : int
        Events each subscriber may have waiting.
    rules : list of AlertRule
        The rules.

    Example
    -------
    >>> hub = AlertHub(8, [parse_alert("b:sad:0.5:10")])
    >>> sub = hub.subscribe("c")
    >>> for k in range(5):
    ...     hub.publish("c", {"type": "emotion", "speaker": "b",
    ...                       "start": k, "end": k + 3.0, "label": "sad"})
    >>> [sub.queue.get_nowait()["type"] for _ in range(6)][-2:]
    ['emotion', 'alert']
    >>> len(hub.alerts["c"])
    1
    """

    def __init__(self, queue_size, rules):
        super().__init__(queue_size)
        self.rules = list(rules)
        self._watches = {}
        self.alerts = {}  # call_id -> alerts of a live call

    def publish(self, call_id, event):
        """Sends an event to the call's subscribers, then any alert it
        fires.

        Arguments
        ---------
        call_id : str
            The call.
        event : dict or None
            The event.
        """
        super().publish(call_id, event)
        if not self.rules or not event or event.get("type") != "emotion":
            return
        watch = self._watches.get(call_id)
        if watch is None:
            watch = self._watches[call_id] = AlertWatch(self.rules, call_id)
        for alert in watch.feed(
            event["speaker"], event["start"], event["end"], event["label"]
        ):
            logger.info(
                "call %s: alert %s (share %.2f of %d windows, %.1f-%.1f s)",
                call_id,
                alert["rule"],
                alert["share"],
                alert["windows"],
                alert["start"],
                alert["end"],
            )
            self.alerts.setdefault(call_id, []).append(alert)
            super().publish(call_id, alert)

    def end(self, call_id):
        """Tells the subscribers that the call ended; forgets its alerts.

        Arguments
        ---------
        call_id : str
            The call.
        """
        super().end(call_id)
        self._watches.pop(call_id, None)
        self.alerts.pop(call_id, None)
