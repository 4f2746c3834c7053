"""The priority score: a transparent, documented function of graded criteria.

Each criterion is graded 1 (least) to 5 (most). Criteria fall in two groups:

* impact: harm to migrants' lives, violence, victim vulnerability, states affected (derived from the
  number of participating states and partners), high-value-target role, financial scale;
* likelihood/capability: corruption, misuse of legal business structures, counter-measures against
  law enforcement, years active.

impact and capability are each the weighted mean of their group's grades (1..5). The score is
``100 * (impact * capability - 1) / 24``, i.e. 0 when every grade is 1 and 100 when every grade is 5.
A separate confidence grade (high/medium/low) says how well the grades are founded; it is shown
beside the score and does not change it. Operations scoring below the threshold are parked.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

IMPACT = "impact"
CAPABILITY = "capability"

CRITERIA: dict[str, tuple[str, str]] = {
    "harm_to_lives": (IMPACT, "Harm to migrants' lives"),
    "violence": (IMPACT, "Use of violence"),
    "victim_vulnerability": (IMPACT, "Vulnerability of victims"),
    "states_affected": (IMPACT, "Member states and partners affected"),
    "high_value_target": (IMPACT, "High-value-target role"),
    "financial_scale": (IMPACT, "Financial scale"),
    "corruption": (CAPABILITY, "Use of corruption"),
    "legal_business_misuse": (CAPABILITY, "Misuse of legal business structures"),
    "countermeasures": (CAPABILITY, "Counter-measures against law enforcement"),
    "years_active": (CAPABILITY, "Years active"),
}

Grade = int


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Assessment(BaseModel):
    """The coordinator's grades; states_affected is derived from the operation, not graded by hand."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    harm_to_lives: Grade = Field(ge=1, le=5)
    violence: Grade = Field(ge=1, le=5)
    victim_vulnerability: Grade = Field(ge=1, le=5)
    high_value_target: Grade = Field(ge=1, le=5)
    financial_scale: Grade = Field(ge=1, le=5)
    corruption: Grade = Field(ge=1, le=5)
    legal_business_misuse: Grade = Field(ge=1, le=5)
    countermeasures: Grade = Field(ge=1, le=5)
    years_active: Grade = Field(ge=1, le=5)
    confidence: Confidence = Confidence.MEDIUM


class ScoringPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    weights: dict[str, float] = Field(default_factory=lambda: {
        "harm_to_lives": 3.0, "violence": 2.0, "victim_vulnerability": 2.0, "states_affected": 1.0,
        "high_value_target": 2.0, "financial_scale": 1.5,
        "corruption": 1.5, "legal_business_misuse": 1.0, "countermeasures": 1.0, "years_active": 0.5,
    })
    threshold: float = Field(default=40.0, ge=0, le=100)

    @field_validator("weights")
    @classmethod
    def _every_criterion_weighted(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(CRITERIA))
        if unknown:
            raise ValueError(f"unknown criteria {unknown}; the criteria are {sorted(CRITERIA)}")
        missing = sorted(set(CRITERIA) - set(weights))
        if missing:
            raise ValueError(f"no weight for {missing}; every criterion needs one (0 to ignore it)")
        negative = sorted(name for name, weight in weights.items() if weight < 0)
        if negative:
            raise ValueError(f"negative weights for {negative}; weights must be 0 or more")
        for group in (IMPACT, CAPABILITY):
            if not any(weights[name] > 0 for name, (g, _) in CRITERIA.items() if g == group):
                raise ValueError(f"every {group} criterion has weight 0; at least one must count")
        return weights


class CriterionScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    label: str
    group: str
    grade: int
    weight: float


class PriorityScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float
    impact: float
    capability: float
    confidence: Confidence
    threshold: float
    breakdown: list[CriterionScore]

    @property
    def above_threshold(self) -> bool:
        return self.score >= self.threshold


def states_affected_grade(number_of_states: int) -> int:
    """2 states grade 2, 3 grade 3, 4-5 grade 4, 6 or more grade 5."""
    if number_of_states >= 6:
        return 5
    if number_of_states >= 4:
        return 4
    return max(1, min(number_of_states, 3))


def _weighted_mean(rows: list[CriterionScore]) -> float:
    total_weight = sum(r.weight for r in rows)
    if total_weight == 0:
        return 1.0
    return sum(r.grade * r.weight for r in rows) / total_weight


def score(assessment: Assessment, number_of_states: int, policy: ScoringPolicy) -> PriorityScore:
    grades = assessment.model_dump(exclude={"confidence"})
    grades["states_affected"] = states_affected_grade(number_of_states)
    breakdown = [
        CriterionScore(criterion=name, label=label, group=group, grade=grades[name],
                       weight=policy.weights.get(name, 0.0))
        for name, (group, label) in CRITERIA.items()
    ]
    impact = _weighted_mean([r for r in breakdown if r.group == IMPACT])
    capability = _weighted_mean([r for r in breakdown if r.group == CAPABILITY])
    value = round(100 * (impact * capability - 1) / 24, 1)
    return PriorityScore(score=value, impact=round(impact, 2), capability=round(capability, 2),
                         confidence=assessment.confidence, threshold=policy.threshold,
                         breakdown=breakdown)
