"""`ThreadBudget`: threads follow the other processes' load, from made-up CPU readings."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.threads import ThreadBudget, psutil_reading, usable_cores


@dataclass
class FakeMachine:
    """CPU seconds as a machine with `cores` cores would count them."""

    wall: float = 0.0
    busy: float = 0.0
    own: float = 0.0
    log: list[str] = field(default_factory=list)

    def reading(self):  # type: ignore[no-untyped-def]
        from models.threads import Reading

        return Reading(self.wall, self.busy, self.own)

    def run(self, seconds: float, *, ours: float, others: float) -> None:
        """`seconds` pass while we keep `ours` cores busy and others keep `others`."""
        self.wall += seconds
        self.own += ours * seconds
        self.busy += (ours + others) * seconds


def budget(machine: FakeMachine, cores: int = 2) -> ThreadBudget:
    return ThreadBudget(cores, clock=machine.reading, wall=lambda: machine.wall)


def test_a_quiet_machine_gets_every_core() -> None:
    m = FakeMachine()
    b = budget(m, cores=4)
    m.run(1.0, ours=4.0, others=0.05)
    assert b.threads() == 4


def test_one_busy_process_takes_one_thread_away_and_gives_it_back_when_it_ends() -> None:
    m = FakeMachine()
    b = budget(m)
    m.run(1.0, ours=1.0, others=1.0)
    assert b.threads() == 1
    assert 0.9 < b.others_busy < 1.1
    m.run(1.0, ours=1.0, others=0.0)
    assert b.threads() == 2


def test_our_own_spinning_threads_are_not_counted_as_others() -> None:
    m = FakeMachine()
    b = budget(m)
    m.run(2.0, ours=2.0, others=0.0)
    assert b.threads() == 2


def test_a_core_mostly_free_still_counts() -> None:
    m = FakeMachine()
    b = budget(m)
    m.run(1.0, ours=1.0, others=0.2)
    assert b.threads() == 2
    m.run(1.0, ours=1.0, others=0.5)
    assert b.threads() == 1


def test_never_below_one_thread_nor_above_the_limit() -> None:
    m = FakeMachine()
    b = ThreadBudget(8, clock=m.reading, wall=lambda: m.wall, limit=3)
    m.run(1.0, ours=0.0, others=8.0)
    assert b.threads() == 1
    m.run(1.0, ours=0.0, others=0.0)
    assert b.threads() == 3


def test_readings_closer_than_the_window_keep_the_last_answer() -> None:
    m = FakeMachine()
    b = budget(m)
    m.run(1.0, ours=1.0, others=1.0)
    assert b.threads() == 1
    m.run(0.01, ours=0.0, others=0.0)  # too short a window to judge: no new reading
    assert b.threads() == 1


def test_the_real_reading_counts_forward() -> None:
    first = psutil_reading()
    sum(i * i for i in range(200_000))
    second = psutil_reading()
    assert second.wall > first.wall and second.own >= first.own
    assert second.machine_busy >= first.machine_busy
    assert usable_cores() >= 1
