"""An in-process fake of the Hugging Face Hub's HTTP API, for ``huggingface_hub`` 2.x (built on ``httpx2``).

:meth:`FakeHub.installed` gives ``huggingface_hub`` a client whose transport is an ``httpx2.MockTransport`` (through
``huggingface_hub.set_client_factory``) and restores the previous factory afterwards. Meanwhile sockets refuse to
connect, and Xet is off: ``hf_xet`` speaks its own protocol outside ``httpx``, so uploads take the LFS "basic"
transfer, as they do without ``hf_xet``. The client keeps the library's own request hook, so ``HF_HUB_OFFLINE``
still blocks every request: a test unsets it while it talks to the fake.

Dataset repos live in memory: a snapshot of files per branch, the commits, the LFS objects. The endpoints are those
``HfApi.create_repo``/``repo_info``/``create_branch``/``upload_folder``/``list_repo_tree``/``get_paths_info`` and
``HfFileSystem`` reads call: repo create and info, branch, validate-yaml, preupload, LFS batch + upload + verify,
commit (NDJSON), tree, paths-info and resolve (with ``Range``). Every request is recorded, every commit with its
paths, and ``fail_commits`` makes chosen commit requests fail with a 500.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote

import httpx2
import huggingface_hub
from huggingface_hub import constants
from huggingface_hub.utils import _http
from huggingface_hub.utils.sha import git_hash

ENDPOINT = constants.ENDPOINT
GITATTRIBUTES = "*.tar filter=lfs diff=lfs merge=lfs -text\n*.parquet filter=lfs diff=lfs merge=lfs -text\n"
LFS_MIN_SIZE = 10 * 1024 * 1024  # the Hub stores bigger files in LFS whatever .gitattributes says
REPO = "skyscript/skyscript-100m"  # the repo the tests push to
TOKEN = "hf_fakeTokenThatMustNeverBePrinted0123"


@dataclass(frozen=True)
class Blob:
    """A file of a revision: its bytes and whether the commit stored it in LFS."""

    content: bytes
    lfs: bool

    def git_oid(self) -> str:
        """The git blob id: of the content, or of the LFS pointer file."""
        if not self.lfs:
            return git_hash(self.content)
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256()}\nsize {len(self.content)}\n"
        return git_hash(pointer.encode())

    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Repo:
    """A dataset repo: a file snapshot and a head commit per branch."""

    private: bool
    branches: dict[str, dict[str, Blob]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Commit:
    repo_id: str
    revision: str
    message: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it (``authorization`` tells only whether the header was there)."""

    method: str
    path: str
    range: str | None
    authorization: bool


class ErrorAnswer(Exception):
    """An error answer: status, ``X-Error-Code`` (how ``huggingface_hub`` picks its exception) and message."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code

    def response(self) -> httpx2.Response:
        headers = {"X-Error-Message": str(self)} | ({"X-Error-Code": self.code} if self.code else {})
        return httpx2.Response(self.status, json={"error": str(self)}, headers=headers)


class FakeHub:
    """The fake Hub's state and its request handler (see the module docstring)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.commits: list[Commit] = []
        self.requests: list[Seen] = []
        self.tokens: set[str] = set()
        self.lfs_uploads: list[str] = []
        self.fail_commits: set[int] = set()
        self._commit_requests = 0
        self._routes: list[tuple[str, re.Pattern, Callable[..., Any]]] = [
            ("POST", re.compile(r"/api/repos/create"), self._create_repo),
            ("POST", re.compile(r"/api/validate-yaml"), lambda request: {"errors": [], "warnings": []}),
            ("GET", re.compile(r"/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?"), self._repo_info),
            ("POST", re.compile(r"/api/datasets/([^/]+/[^/]+)/branch/([^/]+)"), self._create_branch),
            ("POST", re.compile(r"/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)"), self._preupload),
            ("POST", re.compile(r"/api/datasets/([^/]+/[^/]+)/commit/([^/]+)"), self._commit),
            ("GET", re.compile(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(?:/(.+))?"), self._tree),
            ("POST", re.compile(r"/api/datasets/([^/]+/[^/]+)/paths-info/([^/]+)"), self._paths_info),
            ("POST", re.compile(r"/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch"), self._lfs_batch),
            ("PUT", re.compile(r"/lfs/([0-9a-f]{64})"), self._lfs_upload),
            ("POST", re.compile(r"/lfs/([0-9a-f]{64})/verify"), self._lfs_verify),
            ("GET", re.compile(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)"), self._resolve),
        ]

    # ------------------------------------------------------------------ installing

    def client(self) -> httpx2.Client:
        """What ``set_client_factory`` gets: the library's request hook (offline check, request id) and the fake."""
        return httpx2.Client(transport=httpx2.MockTransport(self.handle), follow_redirects=True,
                             event_hooks={"request": [_http.hf_request_event_hook]})

    @contextmanager
    def installed(self) -> Iterator["FakeHub"]:
        """Route ``huggingface_hub`` to this fake, Xet off and sockets refusing to connect; restore all on exit."""
        previous_factory, previous_xet = _http._GLOBAL_CLIENT_FACTORY, constants.HF_HUB_DISABLE_XET
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

        def refuse(sock: socket.socket, address: Any) -> None:
            raise AssertionError(f"a test opened a connection to {address!r}; only the fake Hub may be used")

        huggingface_hub.set_client_factory(self.client)
        constants.HF_HUB_DISABLE_XET = True
        socket.socket.connect = socket.socket.connect_ex = refuse
        try:
            yield self
        finally:
            socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
            constants.HF_HUB_DISABLE_XET = previous_xet
            huggingface_hub.set_client_factory(previous_factory)

    # ------------------------------------------------------------------ for tests

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of a branch, path -> bytes."""
        return {path: blob.content for path, blob in self.repos[repo_id].branches[revision].items()}

    def write(self, repo_id: str, path: str, content: bytes, revision: str = "main") -> None:
        """Change a file as another client's commit would (LFS as the repo's rules say)."""
        lfs = self._is_lfs(self.repos[repo_id], revision, path, len(content))
        self._apply(repo_id, revision, f"write {path}", {path: Blob(content, lfs)})

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        raw_path = request.url.raw_path.split(b"?", 1)[0].decode()
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            self.tokens.add(auth.removeprefix("Bearer "))
        self.requests.append(Seen(request.method, unquote(raw_path), request.headers.get("range"), bool(auth)))
        for method, pattern, route in self._routes:
            match = pattern.fullmatch(raw_path)
            if match and method == request.method:
                try:
                    answer = route(request, *(unquote(g) if g else g for g in match.groups()))
                except ErrorAnswer as error:
                    return error.response()
                return answer if isinstance(answer, httpx2.Response) else httpx2.Response(200, json=answer)
        return ErrorAnswer(404, f"the fake Hub has no route for {request.method} {raw_path}").response()

    def _repo(self, request: httpx2.Request, repo_id: str, write: bool = False) -> Repo:
        repo = self.repos.get(repo_id)
        authorized = "authorization" in request.headers
        if write and not authorized:
            raise ErrorAnswer(401, "Invalid credentials in Authorization header")
        if repo is None or (repo.private and not authorized):
            raise ErrorAnswer(404, f"Repository Not Found for datasets/{repo_id}", "RepoNotFound")
        return repo

    @staticmethod
    def _branch(repo: Repo, revision: str) -> dict[str, Blob]:
        if revision not in repo.branches:
            raise ErrorAnswer(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.branches[revision]

    def _apply(self, repo_id: str, revision: str, message: str, changes: dict[str, Blob | None]) -> str:
        """Commit ``changes`` (None deletes) on a branch; returns the new head."""
        repo = self.repos[repo_id]
        snapshot = dict(repo.branches.get(revision, {}))
        for path, blob in changes.items():
            if blob is None:
                snapshot = {p: b for p, b in snapshot.items() if p != path and not p.startswith(path.rstrip("/") + "/")}
            else:
                snapshot[path] = blob
        oid = hashlib.sha1(f"{repo_id}:{len(self.commits)}:{message}".encode()).hexdigest()
        repo.branches[revision], repo.heads[revision] = snapshot, oid
        self.commits.append(Commit(repo_id, revision, message, tuple(changes)))
        return oid

    @staticmethod
    def _is_lfs(repo: Repo, revision: str, path: str, size: int) -> bool:
        attributes = repo.branches[revision].get(".gitattributes")
        patterns = [line.split()[0] for line in (attributes.content.decode() if attributes else "").splitlines()
                    if "filter=lfs" in line]
        name = path.rsplit("/", 1)[-1]
        return size >= LFS_MIN_SIZE or any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(path, p)
                                           for p in patterns)

    # ------------------------------------------------------------------ repos and branches

    def _create_repo(self, request: httpx2.Request) -> Any:
        payload = json.loads(request.content)
        if "authorization" not in request.headers:
            raise ErrorAnswer(401, "Invalid credentials in Authorization header")
        if payload.get("type") != "dataset":
            raise ErrorAnswer(400, f"the fake Hub keeps dataset repos only, not {payload.get('type')!r}")
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{ENDPOINT}/datasets/{repo_id}"
        if repo_id in self.repos:
            return httpx2.Response(409, json={"error": "You already created this dataset repo", "url": url})
        self.repos[repo_id] = Repo(private=payload.get("visibility") == "private")
        self._apply(repo_id, "main", "initial commit", {".gitattributes": Blob(GITATTRIBUTES.encode(), False)})
        return {"url": url, "name": repo_id}

    def _repo_info(self, request: httpx2.Request, repo_id: str, revision: str | None) -> Any:
        repo = self._repo(request, repo_id)
        files = self._branch(repo, revision or "main")
        return {"id": repo_id, "private": repo.private, "sha": repo.heads[revision or "main"],
                "siblings": [{"rfilename": path} for path in sorted(files)]}

    def _create_branch(self, request: httpx2.Request, repo_id: str, branch: str) -> Any:
        repo = self._repo(request, repo_id, write=True)
        if branch in repo.branches:
            raise ErrorAnswer(409, f"Reference already exists: refs/heads/{branch}")
        start = json.loads(request.content or b"{}").get("startingPoint") or "main"
        repo.branches[branch], repo.heads[branch] = dict(self._branch(repo, start)), repo.heads[start]
        return {}

    # ------------------------------------------------------------------ uploads and commits

    def _preupload(self, request: httpx2.Request, repo_id: str, revision: str) -> Any:
        repo = self._repo(request, repo_id, write=True)
        files = self._branch(repo, revision)
        answers = []
        for item in json.loads(request.content)["files"]:
            path, lfs = item["path"], self._is_lfs(repo, revision, item["path"], item["size"])
            remote = files.get(path)
            oid = None if remote is None else remote.sha256() if lfs else remote.git_oid()
            answers.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                            "oid": oid})
        return {"files": answers}

    def _lfs_batch(self, request: httpx2.Request, repo_id: str) -> Any:
        self._repo(request, repo_id, write=True)
        objects = []
        for item in json.loads(request.content)["objects"]:
            answer = {"oid": item["oid"], "size": item["size"]}
            if item["oid"] not in self.lfs:  # already stored: no actions, the client skips the upload
                answer["actions"] = {"upload": {"href": f"{ENDPOINT}/lfs/{item['oid']}"},
                                     "verify": {"href": f"{ENDPOINT}/lfs/{item['oid']}/verify"}}
            objects.append(answer)
        return {"transfer": "basic", "objects": objects}

    def _lfs_upload(self, request: httpx2.Request, oid: str) -> Any:
        content = request.read()
        if hashlib.sha256(content).hexdigest() != oid:
            raise ErrorAnswer(400, f"uploaded content does not match its oid {oid}")
        self.lfs[oid] = content
        self.lfs_uploads.append(oid)
        return httpx2.Response(200)

    def _lfs_verify(self, request: httpx2.Request, oid: str) -> Any:
        if oid not in self.lfs:
            raise ErrorAnswer(404, f"LFS object {oid} not found")
        return {}

    def _commit(self, request: httpx2.Request, repo_id: str, revision: str) -> Any:
        repo = self._repo(request, repo_id, write=True)
        self._branch(repo, revision)
        self._commit_requests += 1
        if self._commit_requests in self.fail_commits:
            raise ErrorAnswer(500, f"Internal Error (the fake failed commit request {self._commit_requests})")
        lines = [json.loads(line) for line in request.content.splitlines() if line.strip()]
        message, changes = lines[0]["value"]["summary"], {}
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                changes[value["path"]] = Blob(base64.b64decode(value["content"]), False)
            elif line["key"] == "lfsFile":
                if value["oid"] not in self.lfs:
                    raise ErrorAnswer(422, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                changes[value["path"]] = Blob(self.lfs[value["oid"]], True)
            elif line["key"] in ("deletedFile", "deletedFolder"):
                changes[value["path"]] = None
        oid = self._apply(repo_id, revision, message, changes)
        return {"commitUrl": f"{ENDPOINT}/datasets/{repo_id}/commit/{oid}", "commitOid": oid,
                "pullRequestUrl": None}

    # ------------------------------------------------------------------ listing and reading

    @staticmethod
    def _entry(path: str, blob: Blob | None) -> dict[str, Any]:
        if blob is None:
            return {"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest()}
        entry = {"type": "file", "path": path, "size": len(blob.content), "oid": blob.git_oid()}
        if blob.lfs:
            entry["lfs"] = {"oid": blob.sha256(), "size": len(blob.content), "pointerSize": 130}
        return entry

    def _entries(self, files: dict[str, Blob]) -> dict[str, Blob | None]:
        """Every file and folder of a snapshot (a folder maps to None)."""
        entries: dict[str, Blob | None] = {}
        for path, blob in files.items():
            parts = path.split("/")
            entries.update({"/".join(parts[:i]): None for i in range(1, len(parts))})
            entries[path] = blob
        return entries

    def _tree(self, request: httpx2.Request, repo_id: str, revision: str, folder: str | None) -> Any:
        files = self._branch(self._repo(request, repo_id), revision)
        prefix = f"{folder.strip('/')}/" if folder else ""
        recursive = request.url.params.get("recursive", "").lower() == "true"
        entries = self._entries(files)
        if prefix and (prefix[:-1] not in entries or entries[prefix[:-1]] is not None):
            raise ErrorAnswer(404, f"{folder} is not a folder of {repo_id}@{revision}", "EntryNotFound")
        return [self._entry(path, blob) for path, blob in sorted(entries.items())
                if path.startswith(prefix) and (recursive or "/" not in path[len(prefix):])]

    def _paths_info(self, request: httpx2.Request, repo_id: str, revision: str) -> Any:
        entries = self._entries(self._branch(self._repo(request, repo_id), revision))
        paths = parse_qs(request.content.decode()).get("paths", [])
        return [self._entry(path, entries[path]) for path in paths if path in entries]

    def _resolve(self, request: httpx2.Request, repo_id: str, revision: str, path: str) -> Any:
        repo = self._repo(request, repo_id)
        blob = self._branch(repo, revision).get(path)
        if blob is None:
            raise ErrorAnswer(404, f"{path} not found in {repo_id}@{revision}", "EntryNotFound")
        content, status = blob.content, 200
        headers = {"ETag": f'"{blob.sha256() if blob.lfs else blob.git_oid()}"', "X-Repo-Commit": repo.heads[revision],
                   "Accept-Ranges": "bytes"}
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if wanted:
            start = int(wanted[1])
            end = min(int(wanted[2]) if wanted[2] else len(content) - 1, len(content) - 1)
            if start >= len(content):
                return httpx2.Response(416, headers={"Content-Range": f"bytes */{len(content)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content, status = content[start:end + 1], 206
        return httpx2.Response(status, headers=headers, content=content)
