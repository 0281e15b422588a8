"""Fine-tuning a chat model on the store's own conversations, over OpenAI's fine-tuning API.

`shopclerk dataset export` writes the examples in OpenAI's chat format (one `{"messages": [...]}`
per line). Here they are checked before anything leaves the machine (a job that fails on a bad
line an hour later costs time and money), uploaded, and trained on; the job is followed until it
ends, and the new model's id is written to the data directory, where the openai generator picks
it up. A job started without waiting is recorded in the data directory so that a later
`shopclerk finetune status` can finish it the same way.

Everything talks to an injected `openai.AsyncOpenAI` and prints through an injected callback, so
tests run the real client against a fake server.

Errors (API failures stay `openai.APIError`; `api_problem` turns one into a line):

    FinetuneError       what the store owner is told, in one line
    ├── DatasetError    a dataset file is missing or malformed (names the file and line)
    └── JobFailedError  the job ended failed or cancelled (carries the server's reason)
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
from openai import AsyncOpenAI
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

Say = Callable[[str], None]
Sleep = Callable[[float], Awaitable[None]]

MIN_TRAINING_EXAMPLES = 10  # OpenAI refuses a job with fewer
ROLES = frozenset({"system", "user", "assistant"})
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
SUFFIX = "shopclerk"  # shows in the model's name: ft:gpt-4o-mini:org:shopclerk:abc123
UPLOAD_TIMEOUT_SECONDS = 600.0  # a dataset takes longer than one answer
STATUS_BACKLOG = 10  # events `status` shows of a job already under way
JOB_FILE_NAME = "finetune-job.json"


class FinetuneError(Exception):
    """Fine-tuning cannot go on; the message says why in one line."""


class DatasetError(FinetuneError):
    """A dataset file is missing or not chat-format JSONL."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class JobFailedError(FinetuneError):
    """The job ended without a model."""

    def __init__(self, job: FineTuningJob) -> None:
        if job.status == "cancelled":
            reason = f"job {job.id} was cancelled"
        elif job.error is not None and job.error.message:
            reason = f"job {job.id} failed: {job.error.message}"
        else:
            reason = f"job {job.id} failed (the server gave no reason)"
        super().__init__(reason)
        self.job = job


# -- the dataset -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A checked dataset file and how many examples it holds."""

    path: Path
    examples: int


def default_dataset(data_dir: Path, name: str) -> Path:
    """Where `shopclerk dataset export` writes `train` and `validation`."""
    return data_dir / "datasets" / f"{name}.jsonl"


def check_dataset(path: Path, *, minimum: int = 1) -> Dataset:
    """Read every line of a chat-format JSONL file; the first problem raises `DatasetError`."""
    if not path.is_file():
        raise DatasetError(path, None, "no such file (`shopclerk dataset export` writes one)")
    examples = 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            problem = _example_problem(raw)
            if problem:
                raise DatasetError(path, number, problem)
            examples += 1
    if examples < minimum:
        raise DatasetError(path, None, f"{examples} examples; fine-tuning needs at least {minimum}")
    return Dataset(path, examples)


def _example_problem(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    if not text.strip():
        return "empty line (one example per line, no blank lines)"
    try:
        example = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg}, column {exc.colno})"
    if not isinstance(example, dict):
        return "not a JSON object"
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return 'no "messages" list'
    for index, message in enumerate(messages, 1):
        problem = _message_problem(message)
        if problem:
            return f"message {index}: {problem}"
    if not any(message["role"] == "assistant" for message in messages):
        return "no assistant message to learn from"
    return None


def _message_problem(message: object) -> str | None:
    if not isinstance(message, dict):
        return "not a JSON object"
    role = message.get("role")
    if role not in ROLES:
        return f"role {role!r} is not system, user or assistant"
    if not isinstance(message.get("content"), str):
        return '"content" is not a string'
    return None


# -- files in the data directory ---------------------------------------------------------------


@dataclass(frozen=True)
class JobRecord:
    """The job this data directory last started, for `shopclerk finetune status`."""

    job_id: str
    status: str
    base_model: str
    training_file: str
    validation_file: str | None

    @classmethod
    def read(cls, path: Path) -> JobRecord | None:
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = cls(**{field.name: data.get(field.name) for field in fields(cls)})
        except (ValueError, TypeError, AttributeError) as exc:
            raise FinetuneError(f"{path}: unreadable ({exc}); remove it") from exc
        if not isinstance(record.job_id, str):
            raise FinetuneError(f"{path}: names no job; remove it")
        return record


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as out:
        try:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            os.unlink(out.name)
            raise
    os.replace(out.name, path)


# -- the job -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingRequest:
    """What to train: a base model on a training file, checked against a validation file."""

    base_model: str
    train: Path
    validation: Path | None = None
    seed: int | None = None  # None: the server picks one


class FineTuning:
    """Starts, follows and finishes fine-tuning jobs for one data directory."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model_file: Path,
        job_file: Path,
        say: Say,
        poll_seconds: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self._model_file = model_file
        self._job_file = job_file
        self._say = say
        self._poll_seconds = poll_seconds
        self._sleep = sleep
        self._seen_events: set[str] = set()
        self._statuses: dict[str, str] = {}

    async def start(self, request: TrainingRequest) -> FineTuningJob:
        """Check both files, upload them and create the job; nothing is sent if a file is bad."""
        train = check_dataset(request.train, minimum=MIN_TRAINING_EXAMPLES)
        validation = check_dataset(request.validation) if request.validation else None
        training_file = await self._upload(train)
        validation_file = await self._upload(validation) if validation else openai.omit
        seed = openai.omit if request.seed is None else request.seed
        job = await self._client.fine_tuning.jobs.create(
            model=request.base_model,
            training_file=training_file,
            validation_file=validation_file,
            suffix=SUFFIX,
            seed=seed,
        )
        validation_path = str(request.validation.resolve()) if request.validation else None
        record = JobRecord(
            job.id, job.status, request.base_model, str(request.train.resolve()), validation_path
        )
        write_json(self._job_file, asdict(record))
        self._say(
            f"job {job.id} started: {request.base_model} learns from {train.examples} examples"
        )
        return job

    async def look(self, job_id: str, *, backlog: int = STATUS_BACKLOG) -> FineTuningJob:
        """Show the job's status and latest events once; finish it if it has ended."""
        job = await self._poll(job_id, backlog)
        if job.status in FINISHED:
            self.finish(job)
        return job

    async def follow(self, job_id: str, *, backlog: int | None = None) -> FineTuningJob:
        """Show the job's progress until it ends, then finish it."""
        limit = backlog
        while True:
            job = await self._poll(job_id, limit)
            if job.status in FINISHED:
                self.finish(job)
                return job
            limit = None
            await self._sleep(self._poll_seconds)

    def finish(self, job: FineTuningJob) -> Path:
        """Write the new model's file (the generator answers with it from now on)."""
        if job.status != "succeeded":
            raise JobFailedError(job)
        if not job.fine_tuned_model:
            raise FinetuneError(f"job {job.id} succeeded but the server named no model")
        finished = datetime.fromtimestamp(job.finished_at, UTC) if job.finished_at else None
        write_json(
            self._model_file,
            {
                "model": job.fine_tuned_model,
                "job_id": job.id,
                "base_model": job.model,
                "trained_tokens": job.trained_tokens,
                "finished_at": (finished or datetime.now(UTC)).isoformat(),
                "training_file": self._training_file(job),
            },
        )
        self._say(f"model {job.fine_tuned_model} written to {self._model_file}")
        self._say("the openai generator (SHOPCLERK_GENERATOR=openai) answers with it from now on")
        return self._model_file

    def recorded_job(self) -> JobRecord | None:
        """The job this data directory last started, if any."""
        return JobRecord.read(self._job_file)

    async def _upload(self, dataset: Dataset) -> str:
        uploaded = await self._client.files.create(
            file=dataset.path, purpose="fine-tune", timeout=UPLOAD_TIMEOUT_SECONDS
        )
        self._say(f"uploaded {dataset.path} ({dataset.examples} examples) as {uploaded.id}")
        return uploaded.id

    async def _poll(self, job_id: str, limit: int | None) -> FineTuningJob:
        job = await self._client.fine_tuning.jobs.retrieve(job_id)
        for event in await self._new_events(job_id, limit):
            self._say(describe_event(event))
        if self._statuses.get(job.id) != job.status:
            self._statuses[job.id] = job.status
            self._say(f"status: {job.status}")
            self._record_status(job)
        return job

    async def _new_events(self, job_id: str, limit: int | None) -> list[FineTuningJobEvent]:
        """Events not shown yet, oldest first (the API lists the newest first)."""
        fresh: list[FineTuningJobEvent] = []
        page = min(limit or 100, 100)
        async for event in self._client.fine_tuning.jobs.list_events(job_id, limit=page):
            if event.id in self._seen_events or (limit is not None and len(fresh) >= limit):
                break
            fresh.append(event)
        self._seen_events.update(event.id for event in fresh)
        return fresh[::-1]

    def _record_status(self, job: FineTuningJob) -> None:
        record = self.recorded_job()
        if record is not None and record.job_id == job.id and record.status != job.status:
            write_json(self._job_file, {**asdict(record), "status": job.status})

    def _training_file(self, job: FineTuningJob) -> str:
        """The local dataset when this directory started the job, else the uploaded file's id."""
        record = self.recorded_job()
        return record.training_file if record and record.job_id == job.id else job.training_file


# -- saying it plainly -------------------------------------------------------------------------


def describe_event(event: FineTuningJobEvent) -> str:
    """One line: "step 10/100: training loss 0.52", or the server's own message."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type == "metrics" and "step" in data:
        total = f"/{data['total_steps']}" if "total_steps" in data else ""
        losses = [
            f"{label} {data[key]:.4g}"
            for key, label in (("train_loss", "training loss"), ("valid_loss", "validation loss"))
            if isinstance(data.get(key), int | float)
        ]
        return f"step {data['step']}{total}" + (f": {', '.join(losses)}" if losses else "")
    prefix = {"warn": "warning: ", "error": "error: "}.get(event.level, "")
    return prefix + event.message


def api_problem(exc: openai.APIError) -> str:
    """One line for an API failure, naming the server."""
    host = exc.request.url.host
    if isinstance(exc, openai.APITimeoutError):
        return f"{host} did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"cannot reach {host}" + (f" ({cause})" if cause and str(cause) else "")
    detail = exc.body.get("message") if isinstance(exc.body, dict) else None
    detail = str(detail or exc.message)[:300]
    if isinstance(exc, openai.AuthenticationError):
        return f"{host} refused the API key (OPENAI_API_KEY): {detail}"
    if isinstance(exc, openai.APIStatusError):
        return f"{host} answered {exc.status_code}: {detail}"
    return f"{host}: {detail}"
