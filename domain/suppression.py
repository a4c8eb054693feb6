"""The suppression list's keys: which lead column holds a channel's address, and how an address is hashed.

Imports, bulk operations from a file and lead deletion all write or read `suppressions` with these, so an address
suppressed one way is recognised the other ways.
"""

from __future__ import annotations

CHANNEL_ADDRESS = {"email": "email", "sms": "phone", "whatsapp": "phone"}


def address_hash_sql(expression: str) -> str:
    """SQL for the stored hash of an address expression: sha256 of its UTF-8 bytes, lower-case hex."""
    return f"encode(sha256(convert_to({expression}, 'UTF8')), 'hex')"


# Adds the addresses bound as :addresses (text[]) to workspace :w's list for :channel with :reason; an address
# already listed keeps its first reason.
REMEMBER_ADDRESSES_SQL = (
    "INSERT INTO suppressions (workspace_id, channel, address_hash, reason, created_at) "
    f"SELECT DISTINCT CAST(:w AS integer), CAST(:channel AS text), {address_hash_sql('a')}, "
    "CAST(:reason AS text), now() "
    "FROM unnest(CAST(:addresses AS text[])) AS a "
    "ON CONFLICT (workspace_id, channel, address_hash) DO NOTHING"
)
