"""Notification channels as written — ``slack://…``, ``email://…``, ``sns://topic``, an SNS topic ARN — read once
into a scheme and an address."""

from __future__ import annotations

import attrs

ALERT_SCHEMES: tuple[str, ...] = ("slack", "email", "sns", "teams", "pagerduty", "webhook", "https")
"""The schemes a channel may start with (or it is an SNS topic ARN)."""
SNS_ARN = "arn"
"""The scheme of a channel that is an SNS topic's ARN (``arn:aws:sns:…``)."""


@attrs.frozen
class Channel:
    """A channel's `scheme` (one of `ALERT_SCHEMES`, `SNS_ARN`, or what else was written before ``://``; empty
    without one) and its `address` (what follows ``://``, or the whole ARN)."""

    scheme: str
    address: str

    @property
    def text(self) -> str:
        """The channel as written."""
        return f"{self.scheme}://{self.address}" if self.scheme not in ("", SNS_ARN) else self.address

    @property
    def known(self) -> bool:
        """Whether the scheme is one sparklec can send to."""
        return self.scheme in (*ALERT_SCHEMES, SNS_ARN)


def channel(text: str) -> Channel:
    """The channel `text` names."""
    if text.startswith("arn:aws:sns:"):
        return Channel(SNS_ARN, text)
    scheme, separator, address = text.partition("://")
    return Channel(scheme, address) if separator else Channel("", text)
