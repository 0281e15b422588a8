"""`shopclerk finetune`, as a store owner runs it: the real openai client against a fake
fine-tuning API (`httpx2.MockTransport`), real files in a temporary data directory."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai.types.fine_tuning import FineTuningJobEvent
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from learning.commands import check_key, finetune_app
from learning.finetune import (
    DatasetError,
    FinetuneError,
    FineTuning,
    JobFailedError,
    TrainingRequest,
    check_dataset,
    describe_event,
)
from shopclerk.command_services import CliServices
from shopclerk.settings import Settings, load_settings
from shopclerk.wiring import openai_client

MODEL = "ft:gpt-4o-mini:shop::abc123"
FINISHED_AT = 1_700_000_000  # 2023-11-14T22:13:20Z
runner = CliRunner()


@dataclass(frozen=True)
class Services(CliServices):
    """The command line's settings, with a client over the fake API."""

    client: Callable[[], openai.AsyncOpenAI] | None = None

    def openai_client(self) -> openai.AsyncOpenAI:
        return self.client() if self.client else super().openai_client()


def invoke(settings: Settings, args: list[str],
           client: Callable[[], openai.AsyncOpenAI] | None = None) -> Result:  # fmt: skip
    return runner.invoke(finetune_app, args, obj=Services(settings, client))


@dataclass
class FakeFineTuning:
    """OpenAI's file and fine-tuning endpoints, recording every request. A job is queued when
    created, runs one training step per look (GET of the job) for `steps` looks, and ends
    `outcome` on the next one. `interrupt_at_look` plays a Ctrl-C during that look."""

    steps: int = 3
    outcome: str = "succeeded"
    api_key: str = "sk-test"
    interrupt_at_look: int | None = None
    requests: list[httpx2.Request] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    looks: int = 0

    def client(self, api_key: str | None = None) -> openai.AsyncOpenAI:
        transport = httpx2.MockTransport(self.handler)
        return openai.AsyncOpenAI(api_key=api_key or self.api_key, base_url="http://ft.test/v1",
                                  http_client=httpx2.AsyncClient(transport=transport),
                                  max_retries=0)  # fmt: skip

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            error = {"message": "Incorrect API key provided: sk-wr**ng", "code": "invalid_api_key"}
            return httpx2.Response(401, json={"error": error})
        path = request.url.path.removeprefix("/v1")
        if (request.method, path) == ("POST", "/files"):
            return self._upload(request)
        if (request.method, path) == ("POST", "/fine_tuning/jobs"):
            return self._create(json.loads(request.content))
        if match := re.fullmatch(r"/fine_tuning/jobs/([^/]+)/events", path):
            return self._list_events(match[1], request.url.params)
        if match := re.fullmatch(r"/fine_tuning/jobs/([^/]+)", path):
            return self._look(match[1])
        return httpx2.Response(404, json={"error": {"message": f"no route {path}"}})

    def _upload(self, request: httpx2.Request) -> httpx2.Response:
        parts = multipart(request)
        file_id = f"file-{len(self.uploads) + 1}"
        filename, content = parts["file"]
        self.uploads[file_id] = {"purpose": parts["purpose"][1].decode(), "filename": filename,
                                 "content": content}  # fmt: skip
        return httpx2.Response(200, json={
            "id": file_id, "object": "file", "bytes": len(content), "created_at": 1,
            "filename": filename, "purpose": "fine-tune", "status": "processed"})  # fmt: skip

    def _create(self, body: dict[str, Any]) -> httpx2.Response:
        self.created.append(body)
        job_id = f"ftjob-{len(self.jobs) + 1}"
        self.jobs[job_id] = {
            "id": job_id, "object": "fine_tuning.job", "created_at": 1, "model": body["model"],
            "organization_id": "org-shop", "result_files": [], "seed": body.get("seed", 0),
            "status": "queued", "training_file": body["training_file"],
            "validation_file": body.get("validation_file"), "hyperparameters": {},
            "fine_tuned_model": None, "finished_at": None, "trained_tokens": None, "error": None,
        }  # fmt: skip
        self.events[job_id] = []
        self._event(job_id, f"Created fine-tuning job: {job_id}")
        return httpx2.Response(200, json=self.jobs[job_id])

    def _look(self, job_id: str) -> httpx2.Response:
        self.looks += 1
        if self.looks == self.interrupt_at_look:
            raise KeyboardInterrupt
        job = self.jobs[job_id]
        if job["status"] == "queued":
            job["status"] = "running"
            self._event(job_id, "Fine-tuning job started")
        step = self.looks
        if job["status"] == "running" and step <= self.steps:
            data = {"step": step, "total_steps": self.steps, "train_loss": 1 / step}
            self._event(job_id, f"Step {step}/{self.steps}", kind="metrics", data=data)
        elif job["status"] == "running":
            self._end(job)
        return httpx2.Response(200, json=job)

    def _end(self, job: dict[str, Any]) -> None:
        job.update(status=self.outcome, finished_at=FINISHED_AT)
        if self.outcome == "succeeded":
            job.update(fine_tuned_model=MODEL, trained_tokens=12345)
            self._event(job["id"], f"New fine-tuned model created: {MODEL}")
            self._event(job["id"], "The job has successfully completed")
        else:
            reason = "The job failed due to an invalid training file."
            job["error"] = {"code": "invalid_training_file", "param": "training_file",
                            "message": reason}  # fmt: skip
            self._event(job["id"], "The job failed", level="error")

    def _event(self, job_id: str, message: str, *, kind: str = "message",
               data: dict[str, Any] | None = None, level: str = "info") -> None:  # fmt: skip
        events = self.events[job_id]
        events.append({"id": f"ftevent-{len(events) + 1}", "object": "fine_tuning.job.event",
                       "created_at": len(events), "level": level, "message": message,
                       "type": kind, "data": data or {}})  # fmt: skip

    def _list_events(self, job_id: str, params: httpx2.QueryParams) -> httpx2.Response:
        """Newest first, `limit` at a time, continuing `after` an event id, as OpenAI pages."""
        newest_first = self.events[job_id][::-1]
        ids = [event["id"] for event in newest_first]
        start = ids.index(params["after"]) + 1 if "after" in params else 0
        limit = int(params.get("limit", 20))
        page = newest_first[start : start + limit]
        more = start + limit < len(newest_first)
        return httpx2.Response(200, json={"object": "list", "data": page, "has_more": more})


def multipart(request: httpx2.Request) -> dict[str, tuple[str | None, bytes]]:
    """The form's fields as (filename, content), byte for byte."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        assert name is not None
        fields[name[1].decode()] = (filename[1].decode() if filename else None, body[:-2])
    return fields


def example(number: int, *, assistant: bool = True) -> str:
    messages = [{"role": "system", "content": "You are the shop's assistant."},
                {"role": "user", "content": f"Where is order {number}?"}]  # fmt: skip
    if assistant:
        messages.append({"role": "assistant", "content": f"Order {number} ships tomorrow."})
    return json.dumps({"messages": messages}) + "\n"


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    update = {"openai_model": "gpt-4o-mini", "openai_api_key": SecretStr("sk-test")}
    return load_settings(tmp_path / "data").model_copy(update=update)


@pytest.fixture
def datasets(settings: Settings) -> tuple[Path, Path]:
    """The files `shopclerk dataset export` leaves: 12 training and 3 validation examples."""
    train = settings.data_dir / "datasets" / "train.jsonl"
    validation = settings.data_dir / "datasets" / "validation.jsonl"
    write(train, [example(n) for n in range(12)])
    write(validation, [example(n) for n in range(100, 103)])
    return train, validation


def cli(settings: Settings, fake: FakeFineTuning, *args: str, key: str | None = None) -> Result:
    return invoke(settings, [*args, "--poll-seconds", "0"], lambda: fake.client(key))


def model_file(settings: Settings) -> dict[str, Any]:
    return dict(json.loads(settings.finetuned_model_file.read_text()))


# -- the whole run -----------------------------------------------------------------------------


def test_finetune_uploads_trains_follows_and_writes_the_model(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake = FakeFineTuning(steps=3)
    result = cli(settings, fake)

    assert result.exit_code == 0, result.output
    train = datasets[0]
    assert model_file(settings) == {
        "model": MODEL, "job_id": "ftjob-1", "base_model": "gpt-4o-mini",
        "trained_tokens": 12345, "finished_at": "2023-11-14T22:13:20+00:00",
        "training_file": str(train.resolve()),
    }  # fmt: skip
    lines = result.output.splitlines()
    assert "status: running" in lines
    progress = [lines.index(line) for line in ("step 1/3: training loss 1",
                "step 2/3: training loss 0.5", "step 3/3: training loss 0.3333",
                "status: succeeded")]  # fmt: skip
    assert progress == sorted(progress)
    assert f"New fine-tuned model created: {MODEL}" in lines
    assert f"model {MODEL} written to {settings.finetuned_model_file}" in lines
    assert "Created fine-tuning job: ftjob-1" in lines  # an event is shown once
    assert result.output.count("Created fine-tuning job") == 1


def test_the_datasets_are_uploaded_as_they_are_and_the_job_asks_for_them(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake = FakeFineTuning(steps=1)
    assert cli(settings, fake, "--model", "gpt-4.1-mini", "--seed", "7").exit_code == 0

    train, validation = datasets
    assert fake.uploads["file-1"] == {"purpose": "fine-tune", "filename": "train.jsonl",
                                      "content": train.read_bytes()}  # fmt: skip
    assert fake.uploads["file-2"] == {"purpose": "fine-tune", "filename": "validation.jsonl",
                                      "content": validation.read_bytes()}  # fmt: skip
    assert fake.created == [{"model": "gpt-4.1-mini", "training_file": "file-1",
                             "validation_file": "file-2", "suffix": "shopclerk",
                             "seed": 7}]  # fmt: skip
    assert model_file(settings)["base_model"] == "gpt-4.1-mini"


def test_no_validation_file_trains_without_one(settings: Settings, tmp_path: Path) -> None:
    train = tmp_path / "elsewhere.jsonl"
    write(train, [example(n) for n in range(10)])
    fake = FakeFineTuning(steps=1)

    result = cli(settings, fake, "--train", str(train))

    assert result.exit_code == 0, result.output
    assert len(fake.uploads) == 1
    assert "validation_file" not in fake.created[0]
    assert model_file(settings)["training_file"] == str(train.resolve())


# -- starting without waiting ------------------------------------------------------------------


def test_no_wait_then_status_finishes_the_job(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake = FakeFineTuning(steps=1)
    started = cli(settings, fake, "--no-wait")
    assert started.exit_code == 0, started.output
    assert "shopclerk finetune status" in started.output
    job_file = settings.data_dir / "finetune-job.json"
    assert json.loads(job_file.read_text())["job_id"] == "ftjob-1"
    assert json.loads(job_file.read_text())["status"] == "queued"
    assert fake.looks == 0
    assert not settings.finetuned_model_file.exists()

    running = cli(settings, fake, "status")
    assert running.exit_code == 0, running.output
    assert "status: running" in running.output
    assert "step 1/1: training loss 1" in running.output
    assert "`shopclerk finetune status --follow` waits for it to end" in running.output
    assert not settings.finetuned_model_file.exists()

    done = cli(settings, fake, "status")
    assert done.exit_code == 0, done.output
    assert "status: succeeded" in done.output
    assert model_file(settings)["model"] == MODEL
    assert model_file(settings)["training_file"] == str(datasets[0].resolve())
    assert json.loads(job_file.read_text())["status"] == "succeeded"


def test_status_follow_waits_for_a_named_job(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake = FakeFineTuning(steps=4)
    assert cli(settings, fake, "--no-wait").exit_code == 0

    result = cli(settings, fake, "status", "ftjob-1", "--follow")

    assert result.exit_code == 0, result.output
    assert "step 4/4: training loss 0.25" in result.output
    assert model_file(settings)["job_id"] == "ftjob-1"


def test_status_without_a_job_says_how_to_start_one(settings: Settings) -> None:
    fake = FakeFineTuning()
    result = cli(settings, fake, "status")
    assert result.exit_code == 1
    assert "error: no job started here yet" in result.output
    assert fake.requests == []


# -- refusing bad data before anything is sent -------------------------------------------------

BAD_TRAINING_SETS = {
    "bad JSON": ([example(n) for n in range(4)] + ['{"messages": [\n']
                 + [example(n) for n in range(10)], "train.jsonl:5: not JSON"),
    "too few": ([example(n) for n in range(9)], "9 examples; fine-tuning needs at least 10"),
    "no assistant": ([example(n) for n in range(11)] + [example(11, assistant=False)],
                     "train.jsonl:12: no assistant message to learn from"),
    "unknown role": ([example(n) for n in range(10)]
                     + ['{"messages": [{"role": "bot", "content": "hi"}]}\n'],
                     "train.jsonl:11: message 1: role 'bot' is not"),
    "blank line": ([example(n) for n in range(5)] + ["\n"] + [example(n) for n in range(5)],
                   "train.jsonl:6: empty line"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_TRAINING_SETS)
def test_a_bad_training_set_is_refused_before_any_upload(settings: Settings, case: str) -> None:
    lines, message = BAD_TRAINING_SETS[case]
    write(settings.data_dir / "datasets" / "train.jsonl", lines)
    fake = FakeFineTuning()

    result = cli(settings, fake)

    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert message in result.output
    assert fake.requests == []


def test_a_bad_validation_file_is_refused_before_the_training_file_is_sent(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    write(datasets[1], [example(1), '{"messages": "hello"}\n'])
    fake = FakeFineTuning()

    result = cli(settings, fake)

    assert result.exit_code == 1
    assert 'validation.jsonl:2: no "messages" list' in result.output
    assert fake.requests == []


def test_a_missing_dataset_is_named(settings: Settings) -> None:
    fake = FakeFineTuning()
    result = cli(settings, fake)
    assert result.exit_code == 1
    assert "train.jsonl: no such file (`shopclerk dataset export` writes one)" in result.output
    assert fake.requests == []


def test_check_dataset_counts_the_examples(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    write(path, [example(n) for n in range(3)])
    assert check_dataset(path).examples == 3
    with pytest.raises(DatasetError) as caught:
        check_dataset(path, minimum=10)
    assert caught.value.path == path
    assert caught.value.line is None


# -- failures ----------------------------------------------------------------------------------


def test_a_refused_key_is_one_clear_line(settings: Settings, datasets: tuple[Path, Path]) -> None:
    fake = FakeFineTuning(api_key="sk-right")
    result = cli(settings, fake, key="sk-wrong")

    assert result.exit_code == 1
    refused = "error: ft.test refused the API key (OPENAI_API_KEY): Incorrect API key provided"
    assert result.output.strip().splitlines() == [f"{refused}: sk-wr**ng"]
    assert not (settings.data_dir / "finetune-job.json").exists()


def test_an_unreachable_server_is_one_clear_line(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    def client() -> openai.AsyncOpenAI:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(refuse))
        return openai.AsyncOpenAI(api_key="k", base_url="http://ft.test/v1", http_client=http,
                                  max_retries=0)  # fmt: skip

    result = invoke(settings, [], client)

    assert result.exit_code == 1
    assert result.output.strip() == "error: cannot reach ft.test (connection refused)"


def test_a_failed_job_says_why_and_exits_1(settings: Settings, datasets: tuple[Path, Path]) -> None:
    fake = FakeFineTuning(steps=2, outcome="failed")
    result = cli(settings, fake)

    assert result.exit_code == 1
    assert "error: The job failed" in result.output  # the job's own event
    assert result.output.strip().splitlines()[-1] == (
        "error: job ftjob-1 failed: The job failed due to an invalid training file."
    )
    assert not settings.finetuned_model_file.exists()


def test_ctrl_c_while_following_says_the_job_goes_on(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake = FakeFineTuning(steps=5, interrupt_at_look=2)
    result = cli(settings, fake)

    assert result.exit_code == 130
    assert "job ftjob-1 continues on the server" in result.output
    assert "shopclerk finetune status ftjob-1 --follow" in result.output
    assert json.loads((settings.data_dir / "finetune-job.json").read_text())["job_id"] == "ftjob-1"


def test_the_client_needs_a_key_or_a_local_server(settings: Settings) -> None:
    bare = settings.model_copy(update={"openai_api_key": SecretStr(""), "openai_base_url": None})
    with pytest.raises(FinetuneError, match="fine-tuning needs OPENAI_API_KEY"):
        check_key(bare)
    local = bare.model_copy(update={"openai_base_url": "http://127.0.0.1:8080/v1"})
    check_key(local)
    client = openai_client(local)
    assert client.api_key == "not-needed"
    assert str(client.base_url) == "http://127.0.0.1:8080/v1/"


def test_the_command_without_a_key_names_the_setting(settings: Settings) -> None:
    bare = settings.model_copy(update={"openai_api_key": None, "openai_base_url": None})
    result = invoke(bare, [])
    assert result.exit_code == 1
    assert "error: fine-tuning needs OPENAI_API_KEY" in result.output


# -- the core, without the command line --------------------------------------------------------


def tuning(settings: Settings, fake: FakeFineTuning, said: list[str]) -> FineTuning:
    return FineTuning(fake.client(), model_file=settings.finetuned_model_file,
                      job_file=settings.data_dir / "finetune-job.json", say=said.append,
                      poll_seconds=0)  # fmt: skip


async def test_the_core_follows_a_job_to_its_model(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake, said = FakeFineTuning(steps=2), list[str]()
    request = TrainingRequest("gpt-4o-mini", datasets[0], datasets[1])

    ft = tuning(settings, fake, said)
    job = await ft.start(request)
    assert (await ft.look(job.id)).status == "running"
    assert (await ft.follow(job.id)).fine_tuned_model == MODEL
    assert said.count("status: running") == 1
    assert said.count("step 1/2: training loss 1") == 1
    assert model_file(settings)["model"] == MODEL


async def test_the_core_raises_for_a_failed_job(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake, said = FakeFineTuning(steps=0, outcome="failed"), list[str]()

    ft = tuning(settings, fake, said)
    with pytest.raises(JobFailedError, match="invalid training file") as caught:
        await ft.follow((await ft.start(TrainingRequest("gpt-4o-mini", datasets[0]))).id)
    assert caught.value.job.status == "failed"


def test_events_read_as_plain_lines() -> None:
    def event(**fields: Any) -> FineTuningJobEvent:
        return FineTuningJobEvent(id="e", created_at=0, object="fine_tuning.job.event",
                                  **{"level": "info", "message": "m", **fields})  # fmt: skip

    metrics = {"step": 20, "total_steps": 90, "train_loss": 0.51234, "valid_loss": 0.6}
    assert describe_event(event(type="metrics", data=metrics)) == (
        "step 20/90: training loss 0.5123, validation loss 0.6"
    )
    assert describe_event(event(level="warn", message="File has 3 duplicate examples")) == (
        "warning: File has 3 duplicate examples"
    )


def test_a_dry_run_checks_the_files_and_sends_nothing(
    settings: Settings, datasets: tuple[Path, Path]
) -> None:
    fake = FakeFineTuning()
    bare = settings.model_copy(update={"openai_api_key": None, "openai_base_url": None})
    result = invoke(bare, ["--dry-run"], lambda: fake.client())
    assert result.exit_code == 0, result.output
    assert f"would train gpt-4o-mini on 12 examples ({datasets[0]})" in result.output
    assert f"measured on 3 examples ({datasets[1]})" in result.output
    assert fake.requests == []
    datasets[0].write_text("".join(datasets[0].read_text().splitlines(keepends=True)[:9]))
    short = invoke(bare, ["--dry-run"])
    assert short.exit_code == 1
    assert "9 examples; fine-tuning needs at least 10" in short.output
