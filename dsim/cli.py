"""The command line: everything a notebook runs, a terminal runs too.

    python -m dsim list
    python -m dsim run SCENARIO [--seed N] [faults] [--trace F.jsonl]
                                [--history F.json] [--png F.png]
    python -m dsim check HISTORY.json ...
"""

import argparse
import json
import sys

from .network import Crash, Cut, Faults, OneWay, Partition
from .scenario import scenario, scenarios


def _number(text, what):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number of seconds") from None


def _window(text, what):
    """Split ``...@START[-HEAL]`` into the head and its times."""
    head, sep, times = text.partition("@")
    if not sep:
        return head, 0.0, None
    start, dash, heal = times.partition("-")
    return (head, _number(start, f"{what} start"),
            _number(heal, f"{what} heal") if dash else None)


def parse_partition(text):
    """``n1,n2|n3@1-4`` (groups), ``n1>n2@1-4`` (one way) or ``n1-n2`` (a link)."""
    head, start, heal = _window(text, "partition")
    if "|" in head:
        groups = [[n for n in g.split(",") if n] for g in head.split("|")]
        return Partition(groups, start=start, heal=heal)
    if ">" in head:
        src, _, dst = head.partition(">")
        return OneWay(src, dst, start=start, heal=heal)
    if "/" in head:
        a, _, b = head.partition("/")
        return Cut(a, b, start=start, heal=heal)
    raise ValueError(f"partition {text!r} is not understood: write groups as "
                     "'n1,n2|n3@1-4', a one-way cut as 'n1>n2@1-4', or a cut "
                     "link as 'n1/n2@1-4' (times optional)")


def parse_crash(text):
    """``n1@2`` (crash at 2 s) or ``n1@2-5`` (and recover at 5 s)."""
    node, start, heal = _window(text, "crash")
    if "@" not in text:
        raise ValueError(f"crash {text!r} needs a time: write NODE@T or NODE@T-RECOVER")
    return Crash(node, start, heal)


def _faults(args):
    return Faults(drop=args.drop, drop_rate=args.drop_rate,
                  cuts=[parse_partition(p) for p in args.partition],
                  crashes=[parse_crash(c) for c in args.crash])


def _params(pairs, known):
    params = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--param {pair!r} must be NAME=VALUE")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        params[name] = value
    return params


def cmd_list(args, out):
    for name, sc in scenarios().items():
        print(f"{name:28} {sc.summary}", file=out)
    return 0


def cmd_run(args, out):
    sc = scenario(args.scenario)
    run = sc.run(seed=args.seed, faults=_faults(args), until=args.until,
                 max_events=args.max_events, **_params(args.param, sc.params))
    trace = run.trace
    kinds = {}
    for e in trace:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    counts = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"{sc.name} seed {args.seed}: {len(trace)} events ({counts})", file=out)
    print(run.message, file=out)
    if args.trace:
        trace.save(args.trace)
        print(f"trace written to {args.trace}", file=out)
    if args.history:
        history = run.history(model=sc.model or "register")
        with open(args.history, "w", encoding="utf-8") as dst:
            json.dump(history, dst, indent=1)
        print(f"history written to {args.history}", file=out)
    if args.png:
        from .viz import save_png
        save_png(trace, args.png, title=f"{sc.name}, seed {args.seed}")
        print(f"diagram written to {args.png}", file=out)
    return 0


def cmd_check(args, out):
    from .check.cli import check_files
    return check_files(args.files, out, max_seconds=args.budget)


def parser():
    top = argparse.ArgumentParser(prog="python -m dsim",
                                  description="Run, draw and check dsim scenarios.")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name the scenarios")
    run = sub.add_parser("run", help="run a scenario")
    run.add_argument("scenario")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--drop", action="append", default=[], metavar="ID",
                     help="drop the message with this id, such as n2:7")
    run.add_argument("--drop-rate", type=float, default=0.0, metavar="P",
                     help="lose each message with probability P")
    run.add_argument("--partition", action="append", default=[], metavar="SPEC",
                     help="'n1,n2|n3@1-4' groups, 'n1>n2@1' one way, 'n1/n2' a link")
    run.add_argument("--crash", action="append", default=[], metavar="NODE@T",
                     help="crash NODE at T seconds; NODE@T-R recovers at R")
    run.add_argument("--until", type=float, default=None, metavar="T")
    run.add_argument("--max-events", type=int, default=1_000_000, metavar="N")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a scenario parameter, such as rounds=3")
    run.add_argument("--trace", metavar="FILE.jsonl")
    run.add_argument("--history", metavar="FILE.json")
    run.add_argument("--png", metavar="FILE.png")
    check = sub.add_parser("check", help="check histories for linearizability")
    check.add_argument("files", nargs="+", metavar="HISTORY.json")
    check.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                       help="give up with 'unknown' after this long per file")
    return top


COMMANDS = {"list": cmd_list, "run": cmd_run, "check": cmd_check}


def main(argv=None, out=None):
    out = out or sys.stdout
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, out)
    except ValueError as exc:
        print(f"dsim: {exc}", file=sys.stderr)
        return 2
