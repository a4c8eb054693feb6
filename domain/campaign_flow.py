"""Campaign flows: the rules a flow definition must follow before launch, and the cursor the engine walks it with.

A position in the tree is a tuple: the top-level index, then for each level entered an (arm, index) pair, the arm
being "yes"/"no" for a branch or the variant id for an A/B split. `(2,)` is the third top-level step,
`(2, "yes", 0)` the first step of its yes arm, `(3, "b", 1)` the second step of variant b of the split at 3.
Positions are JSON-friendly (a list of ints and strings), so a workflow can carry them across continue-as-new.

Execution order is depth-first: a branch's arms run their steps, then every lead continues with the step after the
branch (an empty arm goes straight there); an `exit` step ends the lead's campaign.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from domain.filters import FilterError, parse_filter
from models.payloads.campaign_flow import (
    BranchStep,
    Duration,
    EngagementCondition,
    ExitStep,
    FieldCondition,
    FlowDefinition,
    SendStep,
    SplitStep,
    Step,
    WaitStep,
)

Position = tuple[int | str, ...]
Severity = Literal["error", "warning"]

MAX_STEPS = 100  # every step of the tree, nested ones included
MAX_DEPTH = 8  # a top-level step is at depth 1
MAX_WAIT = timedelta(days=365)
MIN_VARIANTS, MAX_VARIANTS = 2, 4
# Two wall-clock times in different zones are at most 26 hours apart (UTC+14 to UTC-12).
MAX_ZONE_SPREAD = timedelta(hours=26)
TIMING_EVENTS = frozenset({"opened", "clicked", "not_opened", "not_clicked"})


@dataclass(frozen=True)
class FlowProblem:
    """One finding of validate_flow; `path` points into the definition (e.g. "steps[2].yes[0].template_id")."""

    step_id: str | None
    path: str
    message: str
    severity: Severity = "error"


def has_errors(problems: Sequence[FlowProblem]) -> bool:
    return any(problem.severity == "error" for problem in problems)


# --- Tree access ------------------------------------------------------------------------------------------------------


def arms(step: Step) -> list[tuple[str, list[Step]]]:
    """The nested sequences of a step: a branch's yes and no, a split's variants (by id); none for other steps."""
    if isinstance(step, BranchStep):
        return [("yes", step.yes), ("no", step.no)]
    if isinstance(step, SplitStep):
        return [(variant.id, variant.steps) for variant in step.variants]
    return []


def _arm(step: Step, arm: str) -> list[Step]:
    for name, steps in arms(step):
        if name == arm:
            return steps
    raise ValueError(f"step '{step.id}' has no arm '{arm}'")


def _sequence(flow: FlowDefinition, position: Sequence[int | str]) -> tuple[list[Step], int]:
    """The list holding the step at `position`, and the step's index in it."""
    if len(position) % 2 != 1:
        raise ValueError(f"not a step position: {tuple(position)}")
    steps = flow.steps
    for depth in range(0, len(position) - 1, 2):
        index, arm = position[depth], position[depth + 1]
        if not isinstance(index, int) or not 0 <= index < len(steps):
            raise ValueError(f"no step at {tuple(position[: depth + 1])}")
        steps = _arm(steps[index], str(arm))
    index = position[-1]
    if not isinstance(index, int) or not 0 <= index < len(steps):
        raise ValueError(f"no step at {tuple(position)}")
    return steps, index


def step_at(flow: FlowDefinition, position: Sequence[int | str]) -> Step:
    steps, index = _sequence(flow, position)
    return steps[index]


def iter_steps(flow: FlowDefinition) -> Iterator[tuple[Position, Step]]:
    """Every step with its position, in execution (depth-first) order."""

    def walk(steps: list[Step], prefix: Position) -> Iterator[tuple[Position, Step]]:
        for index, step in enumerate(steps):
            position = (*prefix, index)
            yield position, step
            for arm, nested in arms(step):
                yield from walk(nested, (*position, arm))

    yield from walk(flow.steps, ())


def send_steps(flow: FlowDefinition) -> list[SendStep]:
    return [step for _, step in iter_steps(flow) if isinstance(step, SendStep)]


def step_by_id(flow: FlowDefinition, step_id: str) -> Step | None:
    return next((step for _, step in iter_steps(flow) if step.id == step_id), None)


def position_of(flow: FlowDefinition, step_id: str) -> Position | None:
    return next((position for position, step in iter_steps(flow) if step.id == step_id), None)


def parent_position(position: Sequence[int | str]) -> Position | None:
    """The branch or split whose arm holds this step; None at the top level."""
    return tuple(position[:-2]) if len(position) > 1 else None


def path_label(flow: FlowDefinition, position: Sequence[int | str]) -> str:
    """The position written as a path into the JSON definition: (3, "b", 0) -> "steps[3].variants[1].steps[0]"."""
    label = f"steps[{position[0]}]"
    steps = flow.steps
    for depth in range(0, len(position) - 1, 2):
        container = steps[int(position[depth])]
        arm, index = str(position[depth + 1]), position[depth + 2]
        if isinstance(container, SplitStep):
            variant = next(i for i, v in enumerate(container.variants) if v.id == arm)
            label += f".variants[{variant}].steps[{index}]"
        else:
            label += f".{arm}[{index}]"
        steps = _arm(container, arm)
    return label


# --- Cursor -----------------------------------------------------------------------------------------------------------


def first_position(flow: FlowDefinition) -> Position | None:
    return (0,) if flow.steps else None


def after(flow: FlowDefinition, position: Sequence[int | str]) -> Position | None:
    """Where a lead goes once the step at `position` (and everything inside it) is done: the next step of the same
    sequence, else the step after the enclosing branch or split, recursively; None at the end of the flow."""
    position = tuple(position)
    while True:
        steps, index = _sequence(flow, position)
        if index + 1 < len(steps):
            return (*position[:-1], index + 1)
        parent = parent_position(position)
        if parent is None:
            return None
        position = parent


def enter(flow: FlowDefinition, position: Sequence[int | str], arm: str) -> Position | None:
    """The first step of an arm of the branch or split at `position`; an empty arm continues after the container."""
    container = step_at(flow, position)
    if not isinstance(container, BranchStep | SplitStep):
        raise ValueError(f"step '{container.id}' is a {container.type} step: it has no arms")
    if _arm(container, arm):
        return (*tuple(position), arm, 0)
    return after(flow, position)


def next_position(flow: FlowDefinition, position: Sequence[int | str], arm: str | None = None) -> Position | None:
    """What a lead runs after finishing the step at `position`: None when it leaves the campaign (end of the flow or
    an exit step). Branches and splits need the arm the lead was put in ("yes"/"no" or a variant id)."""
    step = step_at(flow, position)
    if isinstance(step, ExitStep):
        return None
    if isinstance(step, BranchStep | SplitStep):
        if arm is None:
            raise ValueError(f"step '{step.id}' is a {step.type} step: say which arm the lead takes")
        return enter(flow, position, arm)
    if arm is not None:
        raise ValueError(f"step '{step.id}' is a {step.type} step: it has no arms")
    return after(flow, position)


# --- Validation -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Until:
    step_id: str
    wall: datetime
    mode: str


@dataclass
class _Context:
    """What every lead reaching the current sequence has been through."""

    spine: tuple[Step, ...] = ()  # the steps every such lead ran, in order
    untils: tuple[_Until, ...] = ()  # the until-waits some such lead may have run


@dataclass
class _Validator:
    template_channels: Mapping[int, str]
    template_versions: Mapping[int, set[int]]
    problems: list[FlowProblem] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # step id -> step type, for the ids seen so far
    pending: list[tuple[BranchStep, str, str]] = field(default_factory=list)  # engagement refs not seen yet

    def add(self, step: Step | None, path: str, message: str, severity: Severity = "error") -> None:
        self.problems.append(FlowProblem(step.id if step else None, path, message, severity))

    def sequence(self, steps: list[Step], prefix: str, depth: int, ctx: _Context) -> bool:
        """Checks a list of steps; True when every lead running it ends at an exit."""
        exited_at: Step | None = None
        spine, untils = list(ctx.spine), list(ctx.untils)
        for index, step in enumerate(steps):
            path = f"{prefix}[{index}]"
            if exited_at is not None:
                reason = (
                    f"exit step '{exited_at.id}'"
                    if isinstance(exited_at, ExitStep)
                    else f"step '{exited_at.id}', all of whose arms end with an exit"
                )
                self.add(step, path, f"unreachable: it comes after {reason}")
            if depth == MAX_DEPTH + 1 and index == 0:
                self.add(step, path, f"steps may be nested at most {MAX_DEPTH} levels deep")
            ends = self.step(step, path, depth, _Context(tuple(spine), tuple(untils)))
            if ends and exited_at is None:
                exited_at = step
            spine.append(step)
            untils.extend(self.untils_in(step))
        return exited_at is not None

    def untils_in(self, step: Step) -> list[_Until]:
        found = []
        if isinstance(step, WaitStep) and step.until is not None:
            found.append(_Until(step.id, step.until.wall_clock(), step.until.timezone_mode))
        for _, nested in arms(step):
            for inner in nested:
                found.extend(self.untils_in(inner))
        return found

    def step(self, step: Step, path: str, depth: int, ctx: _Context) -> bool:
        if step.id in self.types:
            self.add(step, f"{path}.id", f"the step id '{step.id}' is used more than once")
        else:
            self.types[step.id] = step.type
        if isinstance(step, SendStep):
            self.send(step, path)
        elif isinstance(step, WaitStep):
            self.wait(step, path, ctx)
        elif isinstance(step, BranchStep):
            return self.branch(step, path, depth, ctx)
        elif isinstance(step, SplitStep):
            return self.split(step, path, depth, ctx)
        return isinstance(step, ExitStep)

    def send(self, step: SendStep, path: str) -> None:
        self.template(step, path, step.channel, step.template_id, step.template_version)
        if step.fallback is not None:
            fallback = step.fallback
            if fallback.channel == step.channel:
                self.add(step, f"{path}.fallback.channel", "the fallback must use another channel than the step")
            self.template(step, f"{path}.fallback", fallback.channel, fallback.template_id, fallback.template_version)

    def template(self, step: SendStep, path: str, channel: str, template_id: int, version: int | None) -> None:
        actual = self.template_channels.get(template_id)
        if actual is None:
            self.add(step, f"{path}.template_id", f"template {template_id} does not exist")
            return
        if actual != channel:
            self.add(step, f"{path}.template_id", f"template {template_id} is a {actual} template, not {channel}")
        if version is not None and version not in self.template_versions.get(template_id, set()):
            self.add(step, f"{path}.template_version", f"template {template_id} has no version {version}")

    def duration(self, step: Step, path: str, duration: Duration, what: str) -> None:
        length = duration.as_timedelta()
        if length <= timedelta(0):
            self.add(step, path, f"{what} must be longer than zero")
        elif length > MAX_WAIT:
            self.add(step, path, f"{what} may be at most 365 days")

    def wait(self, step: WaitStep, path: str, ctx: _Context) -> None:
        if step.duration is not None:
            self.duration(step, f"{path}.duration", step.duration, "a wait")
            return
        assert step.until is not None
        mine = _Until(step.id, step.until.wall_clock(), step.until.timezone_mode)
        if not ctx.untils:
            return
        latest = max(ctx.untils, key=lambda earlier: earlier.wall)
        if mine.wall <= latest.wall:
            self.add(
                step,
                f"{path}.until",
                f"must be later than {latest.wall:%Y-%m-%d %H:%M}, the time wait '{latest.step_id}' before it waits "
                "until",
            )
            return
        close = [e for e in ctx.untils if e.mode != mine.mode and mine.wall - e.wall < MAX_ZONE_SPREAD]
        if close:
            self.add(
                step,
                f"{path}.until",
                f"wait '{close[-1].step_id}' uses the {close[-1].mode} timezone and this one the {mine.mode} "
                "timezone: for some leads this time may already be past when they get here",
                "warning",
            )

    def branch(self, step: BranchStep, path: str, depth: int, ctx: _Context) -> bool:
        condition = step.condition
        if isinstance(condition, EngagementCondition):
            self.engagement(step, path, condition, ctx)
        elif isinstance(condition, FieldCondition):
            try:
                parse_filter(condition.filter)
            except FilterError as error:
                where = f"{path}.condition.filter" + (f".{error.path}" if error.path else "")
                self.add(step, where, error.message)
        if not step.yes and not step.no:
            self.add(step, path, "both arms are empty: the branch changes nothing", "warning")
        inner = _Context((*ctx.spine, step), ctx.untils)
        yes = self.sequence(step.yes, f"{path}.yes", depth + 1, inner)
        no = self.sequence(step.no, f"{path}.no", depth + 1, inner)
        return yes and no

    def engagement(self, step: BranchStep, path: str, condition: EngagementCondition, ctx: _Context) -> None:
        where = f"{path}.condition.step_id"
        ref = condition.step_id
        on_path = [index for index, earlier in enumerate(ctx.spine) if earlier.id == ref]
        if on_path:
            referenced = ctx.spine[on_path[0]]
            if not isinstance(referenced, SendStep):
                self.add(step, where, f"step '{ref}' is a {referenced.type} step, not a send step")
            elif condition.event in TIMING_EVENTS and not any(
                isinstance(between, WaitStep) for between in ctx.spine[on_path[0] + 1 :]
            ):
                self.add(
                    step,
                    where,
                    f"no wait between send '{ref}' and this branch: leads will have had no time to open or click",
                    "warning",
                )
            return
        # Not on every path here: earlier elsewhere in the tree (another arm), later, or nowhere. Later steps are
        # not known yet; they are checked once the whole tree is walked (see _late_references).
        if ref in self.types:
            kind = self.types[ref]
            if kind != "send":
                self.add(step, where, f"step '{ref}' is a {kind} step, not a send step")
            else:
                self.add(
                    step,
                    where,
                    f"send '{ref}' is in another branch arm or variant: not every lead reaching this step got it",
                )
        else:
            self.pending.append((step, where, ref))

    def split(self, step: SplitStep, path: str, depth: int, ctx: _Context) -> bool:
        count = len(step.variants)
        if not MIN_VARIANTS <= count <= MAX_VARIANTS:
            self.add(step, f"{path}.variants", f"an A/B split needs {MIN_VARIANTS} to {MAX_VARIANTS} variants")
        total = sum(variant.percent for variant in step.variants)
        if total != 100:
            self.add(step, f"{path}.variants", f"the variants' percents add up to {total}, not 100")
        seen: set[str] = set()
        for index, variant in enumerate(step.variants):
            if variant.id in seen:
                self.add(step, f"{path}.variants[{index}].id", f"the variant id '{variant.id}' is used more than once")
            seen.add(variant.id)
            if variant.percent < 1:
                self.add(step, f"{path}.variants[{index}].percent", "a variant needs at least 1 percent")
        if step.winner is not None:
            self.duration(step, f"{path}.winner.after", step.winner.after, "the time before picking a winner")
            for index, variant in enumerate(step.variants):
                if not any(isinstance(inner, SendStep) for inner in _flatten(variant.steps)):
                    self.add(
                        step,
                        f"{path}.variants[{index}].steps",
                        f"variant '{variant.id}' sends nothing: its {step.winner.metric} would always be 0",
                        "warning",
                    )
        inner = _Context((*ctx.spine, step), ctx.untils)
        ends = [
            self.sequence(variant.steps, f"{path}.variants[{index}].steps", depth + 1, inner)
            for index, variant in enumerate(step.variants)
        ]
        return bool(ends) and all(ends)

    def late_references(self) -> None:
        """Engagement conditions naming a step that was not yet seen when the branch was checked."""
        for step, where, ref in self.pending:
            if ref not in self.types:
                self.add(step, where, f"there is no step '{ref}'")
            elif self.types[ref] != "send":
                self.add(step, where, f"step '{ref}' is a {self.types[ref]} step, not a send step")
            else:
                self.add(step, where, f"send '{ref}' comes after this branch: a branch can only look back")


def _flatten(steps: list[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        for _, nested in arms(step):
            yield from _flatten(nested)


def validate_flow(
    flow: FlowDefinition,
    *,
    template_channels: Mapping[int, str],
    template_versions: Mapping[int, set[int]],
    known_statuses: Sequence[str],
) -> list[FlowProblem]:
    """Every problem of the flow, errors and warnings, each naming its step (a flow with errors cannot launch).

    template_channels: template id -> channel, for the workspace's templates;
    template_versions: template id -> its existing version numbers; known_statuses: the workspace's lead statuses.
    """
    validator = _Validator(template_channels, template_versions)
    size = sum(1 for _ in iter_steps(flow))
    if size > MAX_STEPS * 10:  # far too big to be worth checking step by step
        validator.add(None, "steps", f"a flow may have at most {MAX_STEPS} steps (this one has {size})")
        return validator.problems
    validator.sequence(flow.steps, "steps", 1, _Context())
    validator.late_references()
    if size > MAX_STEPS:
        validator.add(None, "steps", f"a flow may have at most {MAX_STEPS} steps (this one has {size})")
    if not any(isinstance(step, SendStep) for _, step in iter_steps(flow)):
        validator.add(None, "steps", "the flow sends nothing: add at least one send step")
    statuses = set(known_statuses)
    for index, status in enumerate(flow.exit_on_statuses):
        if status not in statuses:
            validator.add(None, f"exit_on_statuses[{index}]", f"'{status}' is not a lead status of this workspace")
    return validator.problems
