"""The `.spk` pipeline language: parse text into an IR project, print IR back as text."""

from __future__ import annotations

from sparklec.diagnostics import Diagnostic, FrontendError, raise_if_errors
from sparklec.frontends.dsl.build import ProjectBuilder
from sparklec.frontends.dsl.comments import Comment
from sparklec.frontends.dsl.parser import parse_tree
from sparklec.frontends.dsl.printer import print_project
from sparklec.ir.pipeline import Project

Comments = list[Comment]


def parse_with_comments(text: str, file: str = "<input>") -> tuple[Project, Comments]:
    """Parse `.spk` text into an IR project (not yet verified) and its comments.

    Errors raise `FrontendError` with every problem found.
    """
    tree, comments = parse_tree(text, file)
    report: list[Diagnostic] = []
    project = ProjectBuilder(file, report).project(tree)
    raise_if_errors(report, FrontendError)
    return project, comments


def parse(text: str, file: str = "<input>") -> Project:
    """Parse `.spk` text into an IR project (not yet verified)."""
    return parse_with_comments(text, file)[0]


def format_text(text: str, file: str = "<input>") -> str:
    """The canonical formatting of `.spk` text, keeping its comments."""
    project, comments = parse_with_comments(text, file)
    return print_project(project, comments)


__all__ = ["format_text", "parse", "parse_with_comments", "print_project"]
