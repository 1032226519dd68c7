"""Per-account entry numbers: ``account_entries`` (account id, account sequence, entry).

Each account numbers the entries touching it — as primary account, in a posting or in a position
change — 1, 2, 3, … in event order, so an account's answers need not expose the venue-wide event
sequence. Existing entries are numbered here from the journal; the table is append-only like the
journal.

Revision ID: 0002_account_sequences
Revises: 0001_initial
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_account_sequences"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOUCHING = """
SELECT sequence, account_id FROM entries
UNION SELECT entry_sequence, account_id FROM postings
UNION SELECT entry_sequence, account_id FROM position_changes
ORDER BY 1, 2
"""


def _guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER account_entries_append_only BEFORE UPDATE OR DELETE ON "
            "account_entries FOR EACH ROW EXECUTE FUNCTION crossmargin_append_only()"
        )
        op.execute(
            "CREATE TRIGGER account_entries_no_truncate BEFORE TRUNCATE ON account_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION crossmargin_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER account_entries_no_{action.lower()} BEFORE {action} ON "
            "account_entries BEGIN SELECT RAISE(ABORT, 'table account_entries is append-only');"
            " END"
        )


def upgrade() -> None:
    table = op.create_table(
        "account_entries",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("account_sequence", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column(
            "entry_sequence", sa.BigInteger(), sa.ForeignKey("entries.sequence"), nullable=False
        ),
        sa.UniqueConstraint("account_id", "entry_sequence", name="uq_account_entries_entry"),
    )
    counts: defaultdict[int, int] = defaultdict(int)
    rows = []
    for sequence, account_id in op.get_bind().execute(sa.text(_TOUCHING)):
        counts[account_id] += 1
        rows.append(
            {
                "account_id": account_id,
                "account_sequence": counts[account_id],
                "entry_sequence": sequence,
            }
        )
    if rows:
        op.bulk_insert(table, rows)
    _guard()


def downgrade() -> None:
    op.drop_table("account_entries")
