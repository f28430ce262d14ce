"""A lab dataset directory (what `lab gen` writes) as numpy memory maps, plus its manifest.

    import lab_data
    data = lab_data.Dataset("runs/.../datasets/two-hop-3c3a976f")
    test = data.split("test")
    prompt, answer = test.example(0)          # uint16 arrays: prompt ids, answer ids (ends with <eos>)
    print(test.decode(prompt), "=>", test.decode(answer))

The format (TASKS.md "On-disk dataset"; generators/dataset_format.h, dataset_writer.cpp):
  manifest.json     {"format": "lab-dataset", "format_version": 1, "task", "parameters", "vocabulary":
                    [token text by id], "vocabulary_separator", "splits": {name: {"count", "tokens",
                    "max_length", "files": {"tokens": {"name", "bytes", "crc32c"}, "index": {...}}}}, ...}
  SPLIT.tokens      every example's tokens (prompt ++ answer) back to back, uint16 little-endian
  SPLIT.index       one 16-byte little-endian record per example: u64 offset (in tokens), u32 length,
                    u32 prompt_length
Opening checks what lab's reader checks (generators/dataset_reader.cpp) short of checksums: the
manifest's fields, every file's size, the records' bounds and the token ids; a problem is a ValueError
naming the file. Checksums: `lab verify DIR`. Only numpy.
"""

import json
import os

import numpy as np

FORMAT_VERSION = 1
TOKEN_DTYPE = np.dtype("<u2")
INDEX_DTYPE = np.dtype([("offset", "<u8"), ("length", "<u4"), ("prompt_length", "<u4")])  # 16 bytes
SPECIALS = ["<pad>", "<bos>", "<eos>", "<sep>"]  # ids 0..3 of every vocabulary
REGENERATE = "regenerate the dataset with `lab gen`"


def _memmap(path, dtype, count):
    """`count` items of `dtype` in `path`, read-only (an empty array for an empty file)."""
    if count == 0:
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(count,))


class Split:
    """One split: `tokens` (memmap uint16 [total tokens]), `index` (memmap of INDEX_DTYPE [count])."""

    def __init__(self, dataset, name, entry):
        where = os.path.join(dataset.dir, "manifest.json")
        self.dataset, self.name = dataset, name
        try:
            self.count, self.total_tokens = int(entry["count"]), int(entry["tokens"])
            self.max_length = int(entry["max_length"])
            files = entry["files"]
            for kind, expected in (("tokens", name + ".tokens"), ("index", name + ".index")):
                if files[kind]["name"] != expected:
                    raise ValueError(f"{where}: split '{name}' names its {kind} file "
                                     f"'{files[kind]['name']}', expected '{expected}'")
        except (KeyError, TypeError) as e:
            raise ValueError(f"{where}: split '{name}' lacks a field or has a wrong type ({e!r}); "
                             f"{REGENERATE}") from None
        self.tokens_path = os.path.join(dataset.dir, name + ".tokens")
        self.index_path = os.path.join(dataset.dir, name + ".index")
        self._check_size(self.index_path, self.count * INDEX_DTYPE.itemsize, f"{self.count} examples")
        self._check_size(self.tokens_path, self.total_tokens * TOKEN_DTYPE.itemsize,
                         f"the manifest's {self.total_tokens} tokens")
        self.index = _memmap(self.index_path, INDEX_DTYPE, self.count)
        self.tokens = _memmap(self.tokens_path, TOKEN_DTYPE, self.total_tokens)
        self._check_records()

    @staticmethod
    def _check_size(path, expected, what):
        if not os.path.isfile(path):
            raise ValueError(f"{path}: missing; {REGENERATE}")
        size = os.path.getsize(path)
        if size != expected:
            raise ValueError(f"{path}: {size} bytes, but {what} need {expected} (truncated or replaced); "
                             f"{REGENERATE}")

    def _check_records(self):
        """The records lie back to back over the whole token file, prompts and answers are non-empty,
        token ids are in the vocabulary."""
        offset, length = self.index["offset"].astype(np.int64), self.index["length"].astype(np.int64)
        prompt = self.index["prompt_length"].astype(np.int64)
        expected = np.concatenate([[0], np.cumsum(length)[:-1]]) if self.count else offset
        bad = np.flatnonzero((offset != expected) | (prompt == 0) | (prompt >= length))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{self.index_path}: record {i} (offset {offset[i]}, length {length[i]}, prompt "
                             f"{prompt[i]}) is out of bounds of the {self.total_tokens} tokens; {REGENERATE}")
        if int(length.sum()) != self.total_tokens:
            raise ValueError(f"{self.index_path}: the records cover {int(length.sum())} of the "
                             f"{self.total_tokens} tokens; {REGENERATE}")
        largest = int(self.tokens.max()) if self.total_tokens else 0
        if largest >= len(self.dataset.vocabulary):
            raise ValueError(f"{self.tokens_path}: holds token id {largest} but the vocabulary has "
                             f"{len(self.dataset.vocabulary)} entries (corrupt file); {REGENERATE}")

    def __len__(self):
        return self.count

    def sequence(self, i):
        """Example i's tokens, prompt ++ answer: uint16 [length] (a view of the memmap)."""
        if not 0 <= i < self.count:
            raise IndexError(f"example {i} is out of range: split '{self.name}' has {self.count} examples")
        record = self.index[i]
        return np.asarray(self.tokens[int(record["offset"]):int(record["offset"]) + int(record["length"])])

    def example(self, i):
        """Example i as (prompt_ids, answer_ids), uint16 arrays; the answer ends with <eos>."""
        tokens, prompt_length = self.sequence(i), int(self.index[i]["prompt_length"])
        return tokens[:prompt_length], tokens[prompt_length:]

    __getitem__ = example

    def __iter__(self):
        return (self.example(i) for i in range(self.count))

    def decode(self, ids):
        return self.dataset.decode(ids)

    def text(self, i):
        """Example i as `lab export --format text` prints it: "PROMPT => ANSWER"."""
        prompt, answer = self.example(i)
        return self.decode(prompt) + " => " + self.decode(answer)


class Dataset:
    """A dataset directory: `.manifest` (dict), `.task`, `.vocabulary` (token text by id), `.separator`,
    `.splits` ({name: Split}). ValueError naming the file when something does not fit."""

    def __init__(self, directory):
        self.dir = os.fspath(directory)
        path = os.path.join(self.dir, "manifest.json")
        if not os.path.isdir(self.dir):
            raise ValueError(f"{self.dir}: not a dataset directory (it does not exist or is not a directory)")
        if not os.path.isfile(path):
            raise ValueError(f"{path}: missing; {self.dir} is not a complete dataset ({REGENERATE})")
        with open(path, encoding="utf-8") as f:
            try:
                self.manifest = json.load(f)
            except ValueError as e:
                raise ValueError(f"{path}: not valid JSON ({e}); {REGENERATE}") from None
        m = self.manifest
        if not isinstance(m, dict) or m.get("format") != "lab-dataset":
            raise ValueError(f"{path}: not a lab dataset manifest")
        if m.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: format version {m.get('format_version')}, this reader reads "
                             f"version {FORMAT_VERSION}; {REGENERATE}")
        try:
            self.task = m["task"]
            self.vocabulary = list(m["vocabulary"])
            self.separator = m["vocabulary_separator"]
            entries = m["splits"].items()
        except (KeyError, AttributeError, TypeError) as e:
            raise ValueError(f"{path}: a field is missing or has the wrong type ({e!r}); "
                             f"{REGENERATE}") from None
        if self.vocabulary[:4] != SPECIALS or len(self.vocabulary) > 65536:
            raise ValueError(f"{path}: the vocabulary must start with {' '.join(SPECIALS)} "
                             "and have at most 65536 entries")
        self.splits = {name: Split(self, name, entry) for name, entry in entries}

    def split_names(self):
        return list(self.splits)

    def split(self, name):
        if name not in self.splits:
            raise ValueError(f"dataset {self.dir} has no split '{name}' (it has: {', '.join(self.splits)})")
        return self.splits[name]

    def decode(self, ids):
        """Token ids as text, specials included, as lab renders them (tasks/vocabulary.cpp): the tokens'
        texts joined by the vocabulary separator (" " for graph labels, "" for phone-book characters),
        "<?>" for an id outside the vocabulary."""
        texts = self.vocabulary
        return self.separator.join(texts[i] if 0 <= i < len(texts) else "<?>" for i in map(int, ids))

    def encode(self, text):
        """The inverse of decode for a separator-joined text (the separator must not be "")."""
        if not self.separator:
            raise ValueError("encode needs a separator; this vocabulary joins tokens with none")
        ids = {t: i for i, t in enumerate(self.vocabulary)}
        return np.array([ids[t] for t in text.split(self.separator)], dtype=TOKEN_DTYPE)

    def __repr__(self):
        counts = ", ".join(f"{n}: {len(s)}" for n, s in self.splits.items())
        return (f"Dataset({self.dir!r}, task={self.task!r}, vocabulary={len(self.vocabulary)}, "
                f"splits=({counts}))")
