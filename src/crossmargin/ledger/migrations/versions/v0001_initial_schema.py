"""Initial ledger schema: head, events, accounts, entries, postings, position changes,
balances and positions. The journal tables (events, entries, postings, position changes) are
append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Decimals are stored as canonical text (see crossmargin.ledger.models.DecimalText).
DECIMAL_TEXT = sa.String(64)

#: Tables whose rows, once committed, never change.
APPEND_ONLY_TABLES = ("events", "entries", "postings", "position_changes")

_POSTGRESQL_GUARD = """
CREATE FUNCTION crossmargin_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME;
END
$$
"""


def _create_append_only_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRESQL_GUARD)
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION crossmargin_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION crossmargin_append_only()"
            )
        return
    for table in APPEND_ONLY_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only'); END"
            )


def upgrade() -> None:
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_sequence": 0}])
    op.create_table(
        "events",
        sa.Column("sequence", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "opened_sequence", sa.BigInteger(), sa.ForeignKey("events.sequence"), nullable=False
        ),
    )
    op.create_table(
        "entries",
        sa.Column(
            "sequence",
            sa.BigInteger(),
            sa.ForeignKey("events.sequence"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_entries_account_key"),
    )
    op.create_table(
        "postings",
        sa.Column(
            "entry_sequence",
            sa.BigInteger(),
            sa.ForeignKey("entries.sequence"),
            primary_key=True,
        ),
        sa.Column("line", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("amount", DECIMAL_TEXT, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
    )
    op.create_index("ix_postings_account_currency", "postings", ["account_id", "currency"])
    op.create_table(
        "position_changes",
        sa.Column(
            "entry_sequence",
            sa.BigInteger(),
            sa.ForeignKey("entries.sequence"),
            primary_key=True,
        ),
        sa.Column("line", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("size_change", DECIMAL_TEXT, nullable=False),
        sa.Column("size_after", DECIMAL_TEXT, nullable=False),
        sa.Column("average_price_after", DECIMAL_TEXT, nullable=True),
    )
    op.create_index("ix_position_changes_account", "position_changes", ["account_id"])
    op.create_table(
        "balances",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("currency", sa.String(16), primary_key=True),
        sa.Column("amount", DECIMAL_TEXT, nullable=False),
    )
    op.create_table(
        "positions",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("instrument", sa.String(64), primary_key=True),
        sa.Column("size", DECIMAL_TEXT, nullable=False),
        sa.Column("average_price", DECIMAL_TEXT, nullable=True),
    )
    _create_append_only_guards()


def downgrade() -> None:
    for table in (
        "positions",
        "balances",
        "position_changes",
        "postings",
        "entries",
        "accounts",
        "events",
        "ledger_head",
    ):
        op.drop_table(table)  # drops its triggers too
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION crossmargin_append_only()")
