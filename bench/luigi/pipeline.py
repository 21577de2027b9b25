"""The benchmark shapes of bench/src/main.rs, written for Luigi, writing the same files.

Run with: python -m luigi --module pipeline <Task> ... --local-scheduler --workers N
(bench/compare.sh sets PYTHONPATH to this directory).
"""
import datetime
import json
import os

import luigi

WORKSPACE = os.environ["BENCH_WORKSPACE"]


def _target(path):
    return luigi.LocalTarget(os.path.join(WORKSPACE, path))


def _write(target, value):
    # LocalTarget.open('w') writes a temporary file and renames it: atomic, like kart's writes.
    with target.open("w") as f:
        json.dump(value, f)


class Leaf(luigi.Task):
    i = luigi.IntParameter()

    def output(self):
        return _target(f"leaf/{self.i}.json")

    def run(self):
        _write(self.output(), self.i)


class Fanin(luigi.WrapperTask):
    n = luigi.IntParameter()

    def requires(self):
        return [Leaf(i=i) for i in range(self.n)]


class Node(luigi.Task):
    layer = luigi.IntParameter()
    i = luigi.IntParameter()
    width = luigi.IntParameter()

    def requires(self):
        if self.layer == 0:
            return []
        return [Node(layer=self.layer - 1, i=self.i, width=self.width),
                Node(layer=self.layer - 1, i=(self.i + 1) % self.width, width=self.width)]

    def output(self):
        return _target(f"layered/{self.width}/{self.layer}/{self.i}.json")

    def run(self):
        total = 0
        for t in self.input():
            with t.open() as f:
                total += json.load(f)
        _write(self.output(), total % 1000 + 1)


class Layered(luigi.WrapperTask):
    layers = luigi.IntParameter()
    width = luigi.IntParameter()

    def requires(self):
        return [Node(layer=self.layers - 1, i=i, width=self.width) for i in range(self.width)]


def _daily_family(number):
    name = f"D{number:02}"

    def output(self):
        return _target(f"daily/{name}/{self.date:%Y-%m-%d}.json")

    def run(self):
        _write(self.output(), 1)

    return type(name, (luigi.Task,), {"date": luigi.DateParameter(), "output": output, "run": run, "__module__": __name__})


DAILY = [_daily_family(n) for n in range(100)]
globals().update({cls.__name__: cls for cls in DAILY})


class AllDaily(luigi.WrapperTask):
    date = luigi.DateParameter()

    def requires(self):
        return [cls(date=self.date) for cls in DAILY]
