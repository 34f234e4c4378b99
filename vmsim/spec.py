"""The base of every input model (scenarios and the workload specs they hold): strict pydantic."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from vmsim.limits import MAX_INT, describe


class Model(BaseModel):
    """Every scenario model: unknown keys are errors, floats must be finite, and no whole number
    exceeds :data:`~vmsim.limits.MAX_INT` (sizes and durations have their own, tighter limits)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _int_limit(cls, v: Any, info: ValidationInfo) -> Any:
        if type(v) is int and abs(v) > MAX_INT and info.field_name != "seed":
            raise ValueError(f"{v} is larger than the largest number vmsim accepts here, {describe(MAX_INT)}")
        return v
