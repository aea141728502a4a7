"""The point table (SPEC §3): questions, points and how points become money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ras.errors import KeyPath, ModelProblem, quote
from ras.models.base import (
    COUNT_LIMIT,
    MONEY_LIMIT,
    MONEY_LIMIT_TEXT,
    Dec,
    Frozen,
    Money,
    Percent,
    Weeks,
    short_number,
)

#: Typographic quotes and dashes, as a spreadsheet's autocorrect types them, and the
#: plain characters a table is written with: "Don’t know" is "Don't know".
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2212": "-"})  # fmt: skip


def norm(text: object) -> str:
    """Normalise a label for matching: trimmed, case-folded, inner spaces collapsed.

    Typographic quotes and dashes are made plain.
    """
    text = text if type(text) is str else str(text)
    if text.isalnum():  # most labels and ids: nothing to trim or collapse
        return text.casefold()
    return " ".join(text.translate(_PLAIN).split()).casefold()


class PersonField(Frozen):
    """A field asked on the Person sheet, after ``Person ID``."""

    id: str = Field(description="Identifier used in conditions and bulk tables.")
    label: str = Field(description="Label shown on the Person sheet.")
    type: Literal["text", "money", "number"] = Field(
        default="text", description="text (with optional options), money (£) or number."
    )
    options: tuple[str, ...] | None = Field(
        default=None,
        description="Allowed values, offered as a drop-down: ids, or {id, label} to show a "
        "label (Older people) for an id (older_people).",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="The label people see for an option id."
    )
    required: bool = Field(default=True, description="Whether an assessment must give it.")
    ask: bool = Field(
        default=True,
        description="Whether the self-assessment asks the person; false for a field the "
        "council fills in (e.g. current cost), which the form keeps apart from the person's.",
    )

    @model_validator(mode="before")
    @classmethod
    def _option_labels(cls, data: Any) -> Any:
        """``options: [{id: older_people, label: Older people}, ...]`` into ids and labels."""
        if not isinstance(data, dict) or not isinstance(data.get("options"), list | tuple):
            return data
        ids: list[Any] = []
        labels = dict(data.get("labels") or {})
        for item in data["options"]:
            if isinstance(item, dict) and set(item) <= {"id", "label"} and "id" in item:
                ids.append(item["id"])
                if item.get("label") is not None:
                    labels[str(item["id"])] = item["label"]
            else:
                ids.append(item)
        out = {**data, "options": ids}
        if labels:
            out["labels"] = labels
        return out

    @model_validator(mode="after")
    def _sound(self) -> PersonField:
        return _checked(self, _one_field_problems(self))

    def id_of(self, text: object) -> str:
        """The option id that ``text`` names (by id or label, any case); else ``text``."""
        key = norm(text)
        for o in self.options or ():
            if key in (norm(o), norm(self.labels.get(o, o))):
                return o
        return str(text)

    def shown(self, value: object) -> object:
        """A value as people read it: an option's label, anything else as it is."""
        if isinstance(value, str):
            return self.labels.get(value, value)
        return value


class FundingStream(Frozen):
    """A funding stream and the label outputs show for it (SPEC §15)."""

    id: str = Field(description="The id domains name in `funding`.")
    label: str = Field(description="How outputs show it: `Social care`.")


class Question(Frozen):
    """One question and the points each answer scores."""

    id: str = Field(description="Question ID, unique across the table.")
    text: str = Field(description="The question as the person reads it.")
    answers: dict[str, Dec] = Field(description="Answer label -> points, in drop-down order.")
    required: bool = Field(default=True, description="Unanswered required question = exception.")

    @field_validator("answers")
    @classmethod
    def _some_answers(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if not value:
            raise ValueError("a question needs at least one answer")
        return value

    @model_validator(mode="after")
    def _points(self) -> Question:
        return _checked(self, _question_problems(self))


class Domain(Frozen):
    """A group of questions whose points may be capped and funded by one stream."""

    id: str = Field(description="Domain identifier.")
    label: str = Field(description="Domain label (column heading in Allocations).")
    funding: str | None = Field(default=None, description="Funding stream, e.g. health.")
    cap: Dec | None = Field(default=None, description="Most points the domain can give.")
    questions: tuple[Question, ...] = Field(description="The domain's questions, in order.")

    @model_validator(mode="after")
    def _sound(self) -> Domain:
        return _checked(self, _domain_problems(self))


class Band(Frozen):
    """Points from ``min`` to ``max`` inclusive convert to ``amount``."""

    min: Dec
    max: Dec
    amount: Money


class Allocation(Frozen):
    """How total points convert to a base amount (SPEC §3.1 step 4)."""

    method: Literal["rate", "bands", "curve"] = Field(description="rate, bands or curve.")
    rate: Money | None = Field(default=None, description="£ per point per year.")
    rates_by: str | None = Field(default=None, description="Person field that picks the rate.")
    rates: dict[str, Money] = Field(default_factory=dict, description="Rate per field value.")
    bands: tuple[Band, ...] = Field(default=(), description="Inclusive, contiguous, from 0.")
    curve: tuple[tuple[Dec, Money], ...] = Field(
        default=(), description="Knots [points, amount]; linear between, flat after the last."
    )


class Condition(Frozen):
    """``{question, answer}`` or ``{field, equals}``: true when the assessment matches."""

    question: str | None = None
    answer: str | None = None
    field: str | None = None
    equals: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        is_q = self.question is not None and self.answer is not None
        is_f = self.field is not None and self.equals is not None
        if (
            is_q == is_f
            or (is_q and (self.field or self.equals))
            or (is_f and (self.question or self.answer))
        ):
            raise ValueError("a condition is either {question, answer} or {field, equals}")
        return self


class Adjustment(Frozen):
    """A percentage applied to the base when every condition holds."""

    id: str
    when: tuple[Condition, ...] = Field(description="Conditions that must all hold.")
    percent: Percent = Field(description="Percentage change, e.g. -15 (or -15%).")


class TopUp(Frozen):
    """A fixed amount added when every condition holds."""

    id: str
    when: tuple[Condition, ...]
    amount: Money


class CeilingsBy(Frozen):
    """A ceiling chosen by the value of a person field."""

    field: str
    values: dict[str, Money]


class Limits(Frozen):
    """Floor and ceiling on the annual budget."""

    floor: Money = Decimal(0)
    ceiling: Money | None = None
    ceilings_by: CeilingsBy | None = None


class PointTable(Frozen):
    """A complete point table (SPEC §3)."""

    ras_table: int = Field(description="Format version; must be 1.")
    name: str
    version: str
    currency: str = "GBP"
    weeks_per_year: Weeks = Decimal("52.143")
    person_fields: tuple[PersonField, ...] = ()
    funding_streams: tuple[FundingStream, ...] = ()
    domains: tuple[Domain, ...]
    allocation: Allocation
    adjustments: tuple[Adjustment, ...] = ()
    top_ups: tuple[TopUp, ...] = ()
    limits: Limits = Limits()
    rounding: Money = Decimal(1)
    range: Dec = Decimal("0.10")

    # Each key checks its own values, so that pydantic lists its problems with every
    # other key's (a check of the whole table runs only once every key is valid: a
    # points value typed as text hid a negative cap). Checks against the person fields
    # or the questions read them from the keys validated before (``info.data``).

    @field_validator("ras_table")
    @classmethod
    def _format_one(cls, value: int) -> int:
        if value != 1:
            raise ValueError("this version of ras reads point tables of format 1")
        return value

    @field_validator("rounding")
    @classmethod
    def _pence(cls, value: Decimal) -> Decimal:
        if value <= 0 or value % Decimal("0.01"):  # budgets are pounds and pence
            raise ValueError(
                "must be a whole number of pence, 0.01 or more (1 rounds to the nearest pound)"
            )
        return value

    @field_validator("range")
    @classmethod
    def _a_share(cls, value: Decimal) -> Decimal:
        if not 0 <= value < 1:
            raise ValueError("must be from 0 up to (not including) 1, e.g. 0.10")
        return value

    @field_validator("person_fields")
    @classmethod
    def _fields(cls, value: tuple[PersonField, ...]) -> tuple[PersonField, ...]:
        return _checked(value, field_problems(value))

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[Domain, ...]) -> tuple[Domain, ...]:
        return _checked(value, domain_problems(value))

    @field_validator("allocation")
    @classmethod
    def _allocation(cls, value: Allocation, info: ValidationInfo) -> Allocation:
        return _checked(value, allocation_problems(value, info.data.get("person_fields")))

    @field_validator("adjustments")
    @classmethod
    def _adjustments(
        cls, value: tuple[Adjustment, ...], info: ValidationInfo
    ) -> tuple[Adjustment, ...]:
        domains, fields = info.data.get("domains"), info.data.get("person_fields")
        out: Problems = []
        for i, adj in enumerate(value):
            out += condition_problems(adj.when, domains, fields, (i, "when"))
            if not -100 < adj.percent <= PERCENT_LIMIT:
                out.append(((i, "percent"), f"must be above -100 and at most {PERCENT_LIMIT:,}"))
        return _checked(value, out)

    @field_validator("top_ups")
    @classmethod
    def _top_ups(cls, value: tuple[TopUp, ...], info: ValidationInfo) -> tuple[TopUp, ...]:
        domains, fields = info.data.get("domains"), info.data.get("person_fields")
        out: Problems = []
        for i, tu in enumerate(value):
            out += condition_problems(tu.when, domains, fields, (i, "when"))
        return _checked(value, out)

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: Limits, info: ValidationInfo) -> Limits:
        return _checked(value, limits_problems(value, info.data.get("person_fields")))

    @model_validator(mode="after")
    def _consistent(self) -> PointTable:
        problems = table_problems(self)
        if problems:
            raise ModelProblem(problems)
        return self

    # Convenience look-ups (not part of the serialised form).
    def stream_label(self, stream: str) -> str:
        """A funding stream as people read it (its id when it has no label)."""
        for fs in self.funding_streams:
            if fs.id == stream:
                return fs.label
        return stream

    def questions(self) -> list[tuple[Domain, Question]]:
        """Every question with its domain, in table order."""
        return [(d, q) for d in self.domains for q in d.questions]

    def question(self, qid: str) -> Question | None:
        """The question with this ID, or None."""
        for _, q in self.questions():
            if q.id == qid:
                return q
        return None

    def field(self, fid: str) -> PersonField | None:
        """The person field with this ID, or None."""
        for f in self.person_fields:
            if f.id == fid:
                return f
        return None

    def streams(self) -> list[str]:
        """Funding streams in first-seen order (``unassigned`` for domains without one)."""
        out: list[str] = []
        for d in self.domains:
            s = d.funding or "unassigned"
            if s not in out:
                out.append(s)
        return out


T = TypeVar("T")


def _checked(value: T, problems: list[tuple[KeyPath, str]]) -> T:
    """``value``, or its problems raised (their paths from the key ``value`` is of)."""
    if problems:
        raise ModelProblem(problems)
    return value


def _dupes(items: list[str]) -> set[str]:
    seen: set[str] = set()
    dup: set[str] = set()
    for i in items:
        (dup if i in seen else seen).add(i)
    return dup


def _one_each(
    f: PersonField, keys: list[str], base: KeyPath, what: str
) -> list[tuple[KeyPath, str]]:
    """Keys naming one option twice (its id and its label): the last one won, unsaid."""
    out: list[tuple[KeyPath, str]] = []
    first: dict[str, str] = {}
    for k in keys:
        option = f.id_of(k)
        if option in first:
            out.append(
                (
                    (*base, k, "[key]"),
                    f"{quote(k)} and {quote(first[option])} are one option of {f.label} "
                    f"({quote(f.shown(option))}); give it one {what}",
                )
            )
        else:
            first[option] = k
    return out


#: The largest percentage an adjustment may add (+1,000 %: a budget eleven times over).
PERCENT_LIMIT = 1000
_TOO_MANY_POINTS = f"more than {COUNT_LIMIT:,} points; check the figure"


def _pounds(amount: Decimal) -> str:
    return f"£{amount:,.0f}" if amount < 10**15 else f"£{short_number(amount)}"


def largest_budget(t: PointTable) -> Decimal:
    """The most any assessment could be given, before rounding (SPEC §3.1 steps 1-7).

    Every question at its highest answer, each domain at its cap; the highest rate (or
    band or curve amount); every adjustment that adds, and every top-up that adds,
    applying together; then the highest ceiling that can apply (none, if someone can
    be without one).
    """
    points = Decimal(0)
    for d in t.domains:
        most = sum((max(q.answers.values(), default=Decimal(0)) for q in d.questions), Decimal(0))
        points += most if d.cap is None else min(most, d.cap)
    a = t.allocation
    if a.method == "rate":
        base = max([a.rate or Decimal(0), *a.rates.values()]) * points
    elif a.method == "bands":
        base = max((b.amount for b in a.bands), default=Decimal(0))
    else:
        base = max((amount for _, amount in a.curve), default=Decimal(0))
    for adj in t.adjustments:
        if adj.percent > 0:
            base *= 1 + adj.percent / 100
    base += sum((max(tu.amount, Decimal(0)) for tu in t.top_ups), Decimal(0))
    lim = t.limits
    if lim.ceiling is not None:
        by = lim.ceilings_by.values.values() if lim.ceilings_by else ()
        base = min(base, max([lim.ceiling, *by]))
    return max(base, lim.floor)


Problems = list[tuple[KeyPath, str]]


def field_problems(fields: tuple[PersonField, ...]) -> Problems:
    """An id given to two person fields (each field checks its own values)."""
    out: Problems = []
    for fid in _dupes(["person_id", *[f.id for f in fields]]):
        out.append(((), f"duplicate person field id {fid!r}"))
    return out


def _one_field_problems(f: PersonField) -> Problems:
    out: Problems = []
    if f.options is not None:
        if f.type != "text":
            out.append((("options",), "only text fields take options"))
        for o in _dupes([norm(o) for o in f.options]):
            out.append((("options",), f"duplicate option {o!r}"))
        for o in _dupes([norm(f.shown(o)) for o in f.options]):
            out.append((("labels",), f"duplicate label {o!r}"))
    for key in f.labels:
        if f.options is None or key not in f.options:
            out.append((("labels", key), f"{quote(key)} is not one of its options"))
    return out


def domain_problems(domains: tuple[Domain, ...]) -> Problems:
    """What the domains have twice (paths from ``domains``).

    Each domain and each question checks its own values.
    """
    out: Problems = []
    if not domains:
        out.append(((), "a table needs at least one domain"))
    for did in _dupes([d.id for d in domains]):
        out.append(((), f"duplicate domain id {did!r}"))
    for qid in _dupes([q.id for d in domains for q in d.questions]):
        out.append(((), f"duplicate question id {quote(qid)}"))
    return out


def _question_problems(q: Question) -> Problems:
    out: Problems = []
    for a in _dupes([norm(a) for a in q.answers]):
        out.append((("answers",), f"duplicate answer {a!r}"))
    for a, pts in q.answers.items():
        if pts < 0:
            out.append((("answers", a), "points cannot be negative"))
        elif pts > COUNT_LIMIT:
            out.append((("answers", a), _TOO_MANY_POINTS))
    return out


def _domain_problems(d: Domain) -> Problems:
    out: Problems = []
    if d.cap is not None and d.cap < 0:
        out.append((("cap",), "a cap cannot be negative"))
    elif d.cap is not None and d.cap > COUNT_LIMIT:
        out.append((("cap",), _TOO_MANY_POINTS))
    if not d.questions:
        out.append((("questions",), "a domain needs at least one question"))
    return out


def _field_of(fields: tuple[PersonField, ...] | None, fid: str) -> PersonField | None:
    return next((f for f in fields or () if f.id == fid), None)


def allocation_problems(  # noqa: C901
    alloc: Allocation, fields: tuple[PersonField, ...] | None
) -> Problems:
    """The allocation's problems (paths from ``allocation``).

    ``fields``: the table's person fields, None when they are invalid themselves (a
    ``rates_by`` is then not checked against them).
    """
    out: Problems = []
    if alloc.method == "rate":
        if alloc.rate is None:
            out.append((("rate",), "method rate needs a rate (£ per point)"))
        elif alloc.rate < 0:
            out.append((("rate",), "a rate cannot be negative"))
        if alloc.rates_by is not None and fields is not None:
            rb_field = _field_of(fields, alloc.rates_by)
            if rb_field is None:
                out.append(
                    (
                        ("rates_by",),
                        f"{quote(alloc.rates_by)} is not a person field; the fields are "
                        + ", ".join(f.id for f in fields),
                    )
                )
            elif rb_field.options is not None:
                out += _one_each(rb_field, list(alloc.rates), ("rates",), "rate")
                for v in alloc.rates:
                    if rb_field.id_of(v) not in rb_field.options:
                        out.append(
                            (
                                ("rates", v, "[key]"),
                                f"{quote(v)} is not one of the options of {rb_field.label}: "
                                + ", ".join(rb_field.options),
                            )
                        )
        elif alloc.rates_by is None and alloc.rates:
            out.append((("rates",), "rates need rates_by (the field that picks)"))
        for v, r in alloc.rates.items():
            if r < 0:
                out.append((("rates", v), "a rate cannot be negative"))
    if alloc.method == "bands":
        if not alloc.bands:
            out.append((("bands",), "method bands needs at least one band"))
        expected = Decimal(0)
        for i, b in enumerate(alloc.bands):
            if b.min != expected:
                kind = "a gap" if b.min > expected else "an overlap"
                out.append(
                    (
                        ("bands", i, "min"),
                        f"{kind}: this band starts at {b.min} but should start at {expected}",
                    )
                )
            if b.max < b.min:
                out.append((("bands", i, "max"), "max is below min"))
            elif b.max > COUNT_LIMIT * 1000:  # every question's most points, and more
                out.append((("bands", i, "max"), _TOO_MANY_POINTS))
            if b.amount < 0:
                out.append((("bands", i, "amount"), "cannot be negative"))
            expected = b.max + 1
    if alloc.method == "curve":
        if len(alloc.curve) < 2:
            out.append((("curve",), "a curve needs at least two knots"))
        for i in range(1, len(alloc.curve)):
            if alloc.curve[i][0] <= alloc.curve[i - 1][0]:
                out.append((("curve", i), "knots must rise in points"))
        if alloc.curve and alloc.curve[0][0] != 0:
            out.append((("curve", 0), "the first knot must be at 0 points"))
        for i, (points, amount) in enumerate(alloc.curve):
            if points > COUNT_LIMIT * 1000:
                out.append((("curve", i), _TOO_MANY_POINTS))
            if amount < 0:
                out.append((("curve", i), "an amount cannot be negative"))
    return out


def condition_problems(
    conds: tuple[Condition, ...],
    domains: tuple[Domain, ...] | None,
    fields: tuple[PersonField, ...] | None,
    base: KeyPath,
) -> Problems:
    """Conditions naming a question, answer, field or option the table does not have.

    ``domains`` or ``fields`` None (invalid themselves): those references not checked.
    """
    out: Problems = []
    questions = {q.id: q for d in domains or () for q in d.questions}
    for i, c in enumerate(conds):
        if c.question is not None and domains is not None:
            q = questions.get(c.question)
            if q is None:
                out.append(((*base, i, "question"), f"unknown question {c.question!r}"))
            elif norm(c.answer) not in {norm(a) for a in q.answers}:
                out.append(
                    (
                        (*base, i, "answer"),
                        f"question {c.question!r} has no answer {c.answer!r}; "
                        f"its answers are {', '.join(q.answers)}",
                    )
                )
        elif c.field is not None and fields is not None:
            f = _field_of(fields, c.field)
            if f is None:
                out.append(((*base, i, "field"), f"unknown person field {c.field!r}"))
            elif f.options is not None and f.id_of(c.equals) not in f.options:
                out.append(((*base, i, "equals"), f"field {c.field!r} has no option {c.equals!r}"))
    return out


def limits_problems(lim: Limits, fields: tuple[PersonField, ...] | None) -> Problems:
    """The limits' problems (paths from ``limits``); see :func:`allocation_problems`."""
    out: Problems = []
    if lim.floor < 0:
        out.append((("floor",), "a floor cannot be negative"))
    if lim.ceiling is not None and lim.ceiling < lim.floor:
        out.append((("ceiling",), "the ceiling is below the floor"))
    if lim.ceilings_by is not None and fields is not None:
        cb_field = _field_of(fields, lim.ceilings_by.field)
        if cb_field is None:
            out.append((("ceilings_by", "field"), f"unknown field {lim.ceilings_by.field!r}"))
        elif cb_field.options is not None:
            values = list(lim.ceilings_by.values)
            out += _one_each(cb_field, values, ("ceilings_by", "values"), "ceiling")
            for v in lim.ceilings_by.values:
                if cb_field.id_of(v) not in cb_field.options:
                    out.append(
                        (
                            ("ceilings_by", "values", v, "[key]"),
                            f"{quote(v)} is not one of the options of {cb_field.label}: "
                            + ", ".join(cb_field.options),
                        )
                    )
    return out


def table_problems(t: PointTable) -> Problems:
    """What ties a valid table's parts together (each part checks its own values).

    Funding streams that no domain uses, an id given to two adjustments or top-ups, and
    -- when all is sound -- a budget beyond belief.
    """
    out: Problems = []
    known = set(t.streams())
    for k, fs in enumerate(t.funding_streams):
        if fs.id not in known:
            out.append(
                (
                    ("funding_streams", k, "id"),
                    f"{quote(fs.id)} is not the funding of any domain; they are "
                    + ", ".join(sorted(known)),
                )
            )
    for aid in _dupes([x.id for x in t.adjustments] + [x.id for x in t.top_ups]):
        out.append((("adjustments",), f"duplicate adjustment or top-up id {aid!r}"))
    if not out:  # each figure is sound: can they together give a budget beyond belief?
        largest = largest_budget(t)
        if largest > MONEY_LIMIT:
            out.append(
                (
                    ("allocation",),
                    f"the largest budget this table can give is {_pounds(largest)}, more "
                    f"than {MONEY_LIMIT_TEXT}; check the points, rates and adjustments, or set "
                    "limits.ceiling",
                )
            )
    return out
