"""Pure-function tools (premium estimate, claim checklist, calculators) over pydantic models."""
