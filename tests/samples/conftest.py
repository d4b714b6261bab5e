"""A recording stand-in for the server's Context, for calling tools directly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyproj import CRS


@dataclass
class FakeContext:
    """Records what a tool reports; reports cancelled once ``cancel_at`` has passed."""

    output_dir: Path
    process_crs: CRS | None = None
    cancel_at: float | None = None
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    progress_reports: list[tuple[int | None, str | None]] = field(default_factory=list)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def warning(self, text: str) -> None:
        self.warnings.append(text)

    def error(self, text: str) -> None:
        self.errors.append(text)

    def progress(self, percent: int | None = None, message: str | None = None) -> None:
        self.progress_reports.append((percent, message))

    def cancel_after(self, seconds: float) -> None:
        self.cancel_at = time.monotonic() + seconds

    def is_cancelled(self) -> bool:
        return self.cancel_at is not None and time.monotonic() >= self.cancel_at


@pytest.fixture
def context(tmp_path: Path) -> FakeContext:
    return FakeContext(output_dir=tmp_path)
