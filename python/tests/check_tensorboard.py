#!/usr/bin/env python3
"""Reads a directory of TensorBoard event files with TensorBoard's own code and checks its scalars.

    check_tensorboard.py EVENTS_DIR EXPECTED.json

EXPECTED.json maps each scalar tag to its [[step, value], ...] in the order TensorBoard should show
them (after the purges a SessionLog START causes); values may be numbers, NaN / Infinity, or the
strings "nan", "inf", "-inf". Every record of every events.out.tfevents.* file must pass TensorBoard's
record reader (length and data CRCs) and parse as a tensorflow.Event, the first event of each file
must carry file_version "brain.Event:2", and both of TensorBoard's loaders must return exactly the
expected tags, steps and values (a value matches if it rounds to the same float32, or within a
relative 1e-6):

- the Python EventAccumulator (what `tensorboard --load_fast=false` serves), and
- the Rust data server of the tensorboard-data-server package (what `tensorboard` serves by default
  where that package is installed), run with --checksum; skipped with a note where it is missing.

The two differ on a resumed run: the Rust server lets a repeated step replace the earlier points of
its tag, the EventAccumulator keeps both unless a SessionLog START event marks the restart step.

Exit codes: 0 as expected, 1 not (each difference printed), 2 bad arguments, 77 `tensorboard` cannot
be imported (pip install tensorboard), so a test can skip.
"""

import json
import logging
import math
import os
import sys
import time


def load_tensorboard():
    try:
        from tensorboard.backend.event_processing import event_accumulator, event_file_loader, io_wrapper
        from tensorboard.compat import tf
        from tensorboard.compat.proto import event_pb2
    except ImportError as e:
        print(f"check_tensorboard: cannot import tensorboard ({e}); pip install tensorboard", file=sys.stderr)
        sys.exit(77)
    return event_accumulator, event_file_loader, io_wrapper, tf, event_pb2


def as_float32(value):
    import numpy as np

    with np.errstate(over="ignore"):
        return float(np.float32(value))


def same_value(expected, read):
    if math.isnan(expected) or math.isnan(read):
        return math.isnan(expected) and math.isnan(read)
    return as_float32(expected) == read or math.isclose(expected, read, rel_tol=1e-6, abs_tol=1e-38)


def check_records(path, tf, event_file_loader, event_pb2, problems):
    """Every record through TensorBoard's record reader, which verifies both CRCs; returns the count."""
    count = 0
    try:
        for record in event_file_loader._make_tf_record_iterator(path):
            event = event_pb2.Event()
            event.ParseFromString(record)
            if count == 0 and event.file_version != "brain.Event:2":
                problems.append(f"{path}: the first event's file_version is {event.file_version!r}")
            count += 1
    except tf.errors.DataLossError as e:
        problems.append(f"{path}: record {count}: {e.message}")
    except Exception as e:  # a protobuf DecodeError
        problems.append(f"{path}: record {count}: {type(e).__name__}: {e}")
    if count == 0:
        problems.append(f"{path}: no records")
    return count


def compare(reader, read, expected, problems):
    """`read` and `expected` map tag -> [(step, value)]."""
    if sorted(read) != sorted(expected):
        problems.append(f"{reader}: read the tags {sorted(read)}, expected {sorted(expected)}")
    for tag in sorted(set(read) & set(expected)):
        got, want = read[tag], expected[tag]
        if len(got) != len(want):
            problems.append(f"{reader}: {tag}: read {len(got)} points, expected {len(want)}: {got}")
            continue
        for (step, value), (want_step, want_value) in zip(got, want):
            if step != want_step or not same_value(want_value, value):
                problems.append(f"{reader}: {tag}: read step {step} = {value!r}, "
                                f"expected step {want_step} = {want_value!r}")


def read_with_accumulator(events_dir, event_accumulator):
    accumulator = event_accumulator.EventAccumulator(
        events_dir, size_guidance={event_accumulator.SCALARS: 0})  # 0: keep every scalar
    accumulator.Reload()
    return {
        tag: [(e.step, e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()[event_accumulator.SCALARS]
    }


def read_with_data_server(events_dir, expected, problems):
    """The Rust data server's scalars of run "." (EVENTS_DIR itself), or None where it is missing."""
    from tensorboard import context
    from tensorboard.data import server_ingester
    from tensorboard.util import grpc_util

    try:
        binary = server_ingester.get_server_binary()
    except server_ingester.NoDataServerError as e:
        print(f"check_tensorboard: no Rust data server ({e}); checked with the EventAccumulator only")
        return None
    ingester = server_ingester.SubprocessServerDataIngester(
        binary, events_dir, reload_interval=0,  # 0: load once
        channel_creds_type=grpc_util.ChannelCredsType.LOCAL, samples_per_plugin={"scalars": 0},
        extra_flags=["--checksum"])
    try:
        ingester.start()
    except server_ingester.DataServerStartupError as e:
        problems.append(f"data server: did not start: {e}")
        return {}
    # The server loads in the background and says nothing when it is done: read until the
    # expected points are there, or 10 s have passed (then report what it read).
    deadline = time.monotonic() + 10
    while True:
        result = ingester.data_provider.read_scalars(
            context.RequestContext(), experiment_id="", plugin_name="scalars", downsample=1 << 62)
        read = {tag: [(d.step, d.value) for d in data] for tag, data in result.get(".", {}).items()}
        check = []
        compare("data server", read, expected, check)
        if not check or time.monotonic() > deadline:
            return read
        time.sleep(0.2)


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} EVENTS_DIR EXPECTED.json", file=sys.stderr)
        return 2
    events_dir, expected_path = argv[1], argv[2]
    try:
        with open(expected_path) as f:
            expected = {
                tag: [(int(step), float(value)) for step, value in points]
                for tag, points in json.load(f).items()
            }
    except (OSError, ValueError, TypeError) as e:
        print(f"check_tensorboard: cannot read {expected_path} as {{tag: [[step, value], ...]}}: {e}",
              file=sys.stderr)
        return 2
    if not os.path.isdir(events_dir):
        print(f"check_tensorboard: {events_dir} is not a directory", file=sys.stderr)
        return 2

    event_accumulator, event_file_loader, io_wrapper, tf, event_pb2 = load_tensorboard()
    logging.getLogger("tensorboard").setLevel(logging.ERROR)  # not the purge a restart marker causes
    problems = []
    files = sorted(
        os.path.join(events_dir, name)
        for name in os.listdir(events_dir)
        if io_wrapper.IsTensorFlowEventsFile(os.path.join(events_dir, name))
    )
    if not files:
        problems.append(f"{events_dir}: no events.out.tfevents.* file")
    records = sum(check_records(path, tf, event_file_loader, event_pb2, problems) for path in files)

    compare("EventAccumulator", read_with_accumulator(events_dir, event_accumulator), expected, problems)
    readers = "the EventAccumulator"
    served = read_with_data_server(events_dir, expected, problems)
    if served is not None:
        compare("data server", served, expected, problems)
        readers += " and the Rust data server"

    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    points = sum(len(v) for v in expected.values())
    print(f"{readers} read {points} points of {len(expected)} tags from {len(files)} files "
          f"({records} records): as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
