"""The rules that span sections of the file: names that must refer to another section.

Pydantic validates each table on its own; these run once the whole file has (the model
validator of :class:`~wave_sdk.config.WaveConfig`). Each problem is a
:class:`~wave_sdk.config.errors.CrossRefError` reported at the key holding the name, with the
names it could have meant: an environment's targets and checks, a check's ``needs`` (and
their cycles), the environments of ``[approvals]`` and cells lowered below the runbook's matrix,
and environments that may deploy on a push.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wave_sdk.config.errors import CrossRefError
from wave_sdk.config.levels import DEFAULT_MATRIX

if TYPE_CHECKING:
    from wave_sdk.config.models import WaveConfig


def check_references(config: WaveConfig) -> None:
    """Raise :class:`CrossRefError` for the first name in ``config`` that refers to nothing."""
    for env_name, env in config.environments.items():
        for i, target in enumerate(env.targets):
            if target not in config.targets:
                key = f"environments.{env_name}.target" + (
                    "" if isinstance(env.target, str) else f".{i}"
                )
                raise CrossRefError(
                    key, f"unknown target {target!r}", config.targets, define=f"targets.{target}"
                )
        for i, check in enumerate(env.checks):
            _check_defined(config, check, at=f"environments.{env_name}.checks.{i}")
    for name, command in config.checks.items():
        for i, need in enumerate(command.needs):
            _check_defined(config, need, at=f"checks.{name}.needs.{i}")
    cycle = _needs_cycle({name: check.needs for name, check in config.checks.items()})
    if cycle:
        raise CrossRefError(
            f"checks.{cycle[0]}.needs",
            f"needs form a cycle: {' → '.join(cycle)}",
            (),
            define="",
            hint="remove one of these needs",
        )
    for action in DEFAULT_MATRIX:
        for env_name, level in config.approvals.cells(action).items():
            cell_env = config.environments.get(env_name)
            runbook = config.runbook_level(action, env_name)
            lowered = runbook is not None and level > runbook
            if lowered and not (cell_env and cell_env.allow_lower_approvals):
                raise CrossRefError(
                    f"approvals.{action}.{env_name}",
                    f"the runbook's matrix needs L{runbook} for {action} in {env_name}; "
                    f"L{level} lowers it",
                    (),
                    define=f"environments.{env_name}",
                    hint=f"to lower it on purpose, set allow_lower_approvals = true in "
                    f"[environments.{env_name}]",
                )
            if env_name not in config.environments and env_name not in DEFAULT_MATRIX[action]:
                raise CrossRefError(
                    f"approvals.{action}.{env_name}",
                    f"unknown environment {env_name!r}",
                    {*config.environments, *DEFAULT_MATRIX[action]},
                    define=f"environments.{env_name}",
                )
    check_auto_deploy(config)


def check_auto_deploy(config: WaveConfig) -> None:
    """``auto_deploy`` needs a ``branch`` to follow, and no L1 deploy approval to wait for."""
    for name, env in config.environments.items():
        if not env.auto_deploy:
            continue
        if env.branch is None:
            raise CrossRefError(
                f"environments.{name}.auto_deploy",
                "auto_deploy needs the branch whose pushes deploy here",
                (),
                define="",
                hint=f'set branch in [environments.{name}], e.g. branch = "develop"',
            )
        if config.required_level("deploy", name) == 1:
            raise CrossRefError(
                f"environments.{name}.auto_deploy",
                f"a deploy to {name} needs an L1 approval, which a push cannot give",
                (),
                define="",
                hint="set auto_deploy = false: the runbook deploys Production only by hand, "
                "after approval",
            )


def _check_defined(config: WaveConfig, check: str, *, at: str) -> None:
    """An environment's check or a check's need must be a table of ``[checks]``."""
    if check not in config.checks:
        raise CrossRefError(at, f"unknown check {check!r}", config.checks, define=f"checks.{check}")


def _needs_cycle(needs: dict[str, list[str]]) -> list[str] | None:
    """A cycle of ``needs`` as a path (``a → b → a``), or ``None``; a cycle would never start."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for need in needs.get(name, ()):
            found = visit(need, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    for name in needs:
        found = visit(name, [])
        if found:
            return found
    return None
