"""PII and user-declared custom SQL transformers."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from sparklec.ir.transformers.base import Op, Schema, as_columns, param, require_strings
from sparklec.ir.values import Column


@attrs.frozen(kw_only=True)
class MaskColumn(Op):
    """Keep the last `visible_chars` characters and mask the rest with `mask_char`."""

    NAME = "mask_column"
    columns: tuple[str, ...] = param(aliases=("column",), convert=as_columns)
    visible_chars: int = param(4)
    mask_char: str = param("*")

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, self.columns, self.NAME)


@attrs.frozen(kw_only=True)
class TokenizeColumn(Op):
    """Replace values by a salted hash (NULL stays NULL)."""

    NAME = "tokenize_column"
    columns: tuple[str, ...] = param(aliases=("column",), convert=as_columns)
    algorithm: str = param("sha256", choices=("md5", "sha256", "sha512"))
    salt: str | None = param(None)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(Column(name=c, type="string") for c in self.columns)

    def replaces_existing(self) -> bool:
        return True


@attrs.frozen(kw_only=True)
class RedactEmail(Op):
    """Replace the local part of e-mail addresses by ``****``."""

    NAME = "redact_email"
    columns: tuple[str, ...] = param(aliases=("column", "email_column"), convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, self.columns, self.NAME)


@attrs.frozen(kw_only=True)
class RemovePiiColumns(Op):
    """Drop the named columns."""

    NAME = "remove_pii_columns"
    columns: tuple[str, ...] = param(aliases=("column",), convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def columns_removed(self) -> tuple[str, ...]:
        return self.columns


def as_lookup(value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping) and value and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return tuple(value.items())
    raise ValueError("expected a map {original value: anonymised value} of strings")


@attrs.frozen(kw_only=True)
class AnonymizeWithLookup(Op):
    """Replace each value of `column` found in `lookup_dict` by its anonymised value; others stay."""

    NAME = "anonymize_with_lookup"
    column: str = param()
    lookup_dict: tuple[tuple[str, str], ...] = param(aliases=("lookup", "mapping"), convert=as_lookup)

    def columns_read(self) -> tuple[str, ...]:
        return (self.column,)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, (self.column,), self.NAME)


@attrs.frozen(kw_only=True)
class CustomOp(Op):
    """A use of a custom SQL transformer that the pipeline declares by name.

    A declared expression adds (or replaces) the column `target_column`
    (default: the transformer's name); a declared SELECT over ``{{ input }}``
    produces columns that are only known at run time.
    """

    NAME = "custom"
    transformer: str
    target_column: str | None = None
