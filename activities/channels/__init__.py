"""Channels behind one interface (docs/channels.md): build them once per worker with `channels_from_settings`,
then `channels.get(name).send(OutgoingMessage(...))` → `SendReceipt`, or `TransientSendError` /
`PermanentSendError`."""

from activities.channels.base import (
    Channel,
    ChannelUnavailable,
    OutgoingMessage,
    PermanentSendError,
    SendError,
    SendReceipt,
    TransientSendError,
)
from activities.channels.registry import ChannelConfigError, Channels, channels_from_settings

__all__ = [
    "Channel",
    "ChannelConfigError",
    "ChannelUnavailable",
    "Channels",
    "OutgoingMessage",
    "PermanentSendError",
    "SendError",
    "SendReceipt",
    "TransientSendError",
    "channels_from_settings",
]
