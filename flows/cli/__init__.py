"""The `rehab` command: exit 0 on success, 1 on a user error (one line, no traceback), 2 on
bad usage. The command groups live in the modules beside this one and are added here."""

from __future__ import annotations

import logging
import os

import click

from flows.cli import (
    admin,
    audit,
    auth,
    case,
    case_admin,
    case_close,
    case_import,
    key,
    partners,
    person,
    plan,
    plan_launch,
    plan_send_back,
    report,
    staff,
)
from flows.cli.context import RehabGroup


@click.group(cls=RehabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rehab")
def cli() -> None:
    """rehab: individual rehabilitation plans, run as long-lived Prefect flows."""


for command in (
    plan.plan,
    case.consent,
    case.checkin,
    case.step,
    case.rule,
    partners.partners,
    staff.staff,
    audit.audit,
    auth.auth,
    person.person,
    key.key,
    case_admin.case_group,
    admin.db,
    admin.up,
    report.report,
):
    cli.add_command(command)
case_admin.case_group.add_command(case_import.case_import)
case_admin.case_group.add_command(case_close.case_close)
plan.plan.add_command(plan_launch.plan_launch)
plan.plan.add_command(plan_send_back.plan_send_back)


def _quiet_prefect_workers() -> None:
    """Prefect's log and event workers announce their own shutdown ("Still processing
    items ...") on stderr: a command prints what it did and nothing else."""
    for name in ("APILogWorker", "EventsWorker"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    """Entry point of the installed `rehab` and of `python -m flows`."""
    os.umask(0o077)  # every file and directory rehab writes is for its owner's eyes only
    _quiet_prefect_workers()
    cli.main(prog_name="rehab")
