"""An in-process fake of the Hugging Face Hub's HTTP API, for ``huggingface_hub`` 2.x (built on ``httpx2``).

:meth:`FakeHub.installed` gives ``huggingface_hub`` a client whose transport is an ``httpx2.MockTransport`` (through
``huggingface_hub.set_client_factory``) and restores the previous factory afterwards. Meanwhile sockets refuse to
connect, and Xet is off: ``hf_xet`` speaks its own protocol outside ``httpx``, so uploads take the LFS "basic"
transfer, as they do without ``hf_xet``. The client keeps the library's own request hook, so ``HF_HUB_OFFLINE``
still blocks every request: a test unsets it while it talks to the fake.

Dataset repos live in memory: a snapshot of files per branch and per commit, the commits, the LFS objects. The
endpoints are those ``HfApi.create_repo``/``repo_info``/``create_branch``/``upload_folder``/``list_repo_tree``/
``get_paths_info``/``hf_hub_download``, ``HfFileSystem`` reads and ``datasets.load_dataset`` of a repo call: repo
create and info (``sha``, ``siblings``, ``cardData``; ``blobs``, ``expand``), branch, validate-yaml, preupload, LFS
batch + upload + verify, commit (NDJSON), tree (paged by a ``Link`` header), paths-info, and resolve, GET or HEAD,
on a branch or a commit id. Resolve answers as the Hub does: a regular file with its bytes (``Range`` honoured),
``ETag`` (git blob id), ``Content-Length`` and ``X-Repo-Commit``; an LFS file with a 302 to a signed URL on the LFS
CDN (served here too, without a token) and ``X-Linked-Etag`` (sha256), ``X-Linked-Size``, ``X-Repo-Commit``; a
missing file or revision with a 404 and the ``X-Error-Code`` that ``huggingface_hub`` maps (``EntryNotFound``,
``RevisionNotFound``). The dataset viewer's ``/info`` and ``/parquet`` know no dataset (404). Every request is
recorded (with its host), every commit with its paths, and ``fail_commits`` makes chosen commit requests fail with
a 500. Any other request gets a 404 "no route".
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
from urllib.parse import parse_qs, quote, unquote

import httpx2
import huggingface_hub
import yaml
from huggingface_hub import constants
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from huggingface_hub.utils import _http
from huggingface_hub.utils.sha import git_hash

ENDPOINT = constants.ENDPOINT
HUB_HOST = httpx2.URL(ENDPOINT).host
CDN_HOST = "cdn-lfs.hf.co"  # where the Hub redirects downloads of LFS files (signed URLs, no token)
VIEWER_HOST = httpx2.URL(ENDPOINT.replace("://", "://datasets-server.")).host  # the dataset viewer's API
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
    snapshots: dict[str, dict[str, Blob]] = field(default_factory=dict)  # commit id -> its files


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
    host: str = HUB_HOST


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
        self.tree_page_size = 1000  # entries per page of a tree listing, as the Hub pages them
        # (host, methods, path, handler): HEAD is answered as GET would be, without the body
        self._routes: list[tuple[str, tuple[str, ...], re.Pattern, Callable[..., Any]]] = [
            (HUB_HOST, ("POST",), re.compile(r"/api/repos/create"), self._create_repo),
            (HUB_HOST, ("POST",), re.compile(r"/api/validate-yaml"), lambda request: {"errors": [], "warnings": []}),
            (HUB_HOST, ("GET",), re.compile(r"/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?"), self._repo_info),
            (HUB_HOST, ("POST",), re.compile(r"/api/datasets/([^/]+/[^/]+)/branch/([^/]+)"), self._create_branch),
            (HUB_HOST, ("POST",), re.compile(r"/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)"), self._preupload),
            (HUB_HOST, ("POST",), re.compile(r"/api/datasets/([^/]+/[^/]+)/commit/([^/]+)"), self._commit),
            (HUB_HOST, ("GET",), re.compile(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(?:/(.+))?"), self._tree),
            (HUB_HOST, ("POST",), re.compile(r"/api/datasets/([^/]+/[^/]+)/paths-info/([^/]+)"), self._paths_info),
            (HUB_HOST, ("POST",), re.compile(r"/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch"),
             self._lfs_batch),
            (HUB_HOST, ("PUT",), re.compile(r"/lfs/([0-9a-f]{64})"), self._lfs_upload),
            (HUB_HOST, ("POST",), re.compile(r"/lfs/([0-9a-f]{64})/verify"), self._lfs_verify),
            (HUB_HOST, ("GET", "HEAD"), re.compile(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)"), self._resolve),
            (CDN_HOST, ("GET", "HEAD"), re.compile(r"/repos/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}/([0-9a-f]{64})"),
             self._cdn),
            (VIEWER_HOST, ("GET",), re.compile(r"/(?:info|parquet)"), self._viewer),
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
        if lfs:  # its LFS object, as the other client would have uploaded it
            self.lfs[hashlib.sha256(content).hexdigest()] = content
        self._apply(repo_id, revision, f"write {path}", {path: Blob(content, lfs)})

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        raw_path = request.url.raw_path.split(b"?", 1)[0].decode()
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            self.tokens.add(auth.removeprefix("Bearer "))
        self.requests.append(Seen(request.method, unquote(raw_path), request.headers.get("range"), bool(auth),
                                  request.url.host))
        for host, methods, pattern, route in self._routes:
            match = pattern.fullmatch(raw_path)
            if match and host == request.url.host and request.method in methods:
                try:
                    answer = route(request, *(unquote(g) if g else g for g in match.groups()))
                except ErrorAnswer as error:
                    answer = error.response()
                if not isinstance(answer, httpx2.Response):
                    answer = httpx2.Response(200, json=answer)
                if request.method == "HEAD":  # the GET answer's status and headers (Content-Length too), no body
                    return httpx2.Response(answer.status_code, headers=answer.headers)
                return answer
        where = f"{request.method} {request.url.host}{raw_path}"
        return ErrorAnswer(404, f"the fake Hub has no route for {where}").response()

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

    @staticmethod
    def _revision(repo: Repo, revision: str) -> tuple[str, dict[str, Blob]]:
        """What a read names: a branch (its head) or a commit id (as ``datasets`` pins a load); (commit, files)."""
        if revision in repo.branches:
            return repo.heads[revision], repo.branches[revision]
        if revision in repo.snapshots:
            return revision, repo.snapshots[revision]
        raise ErrorAnswer(404, f"Invalid rev id: {revision}", "RevisionNotFound")

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
        repo.snapshots[oid] = snapshot
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
        """``dataset_info``: the commit, the files (``blobs=true``: with size, blob id, LFS) and the card's YAML
        header as ``cardData``; ``expand`` asks for some properties only."""
        repo = self._repo(request, repo_id)
        sha, files = self._revision(repo, revision or "main")
        blobs = request.url.params.get("blobs", "").lower() == "true"
        siblings = []
        for path, blob in sorted(files.items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling |= {"size": len(blob.content), "blobId": blob.git_oid()}
                if blob.lfs:
                    sibling["lfs"] = {"sha256": blob.sha256(), "size": len(blob.content), "pointerSize": 130}
            siblings.append(sibling)
        info = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": repo_id.split("/")[0],
                "sha": sha, "private": repo.private, "gated": False, "disabled": False, "tags": [],
                "siblings": siblings}
        card = files.get("README.md")
        header = REGEX_YAML_BLOCK.search(card.content.decode("utf-8")) if card else None
        if header:
            info["cardData"] = yaml.safe_load(header[2]) or {}
        expand = request.url.params.get_list("expand")
        return {k: v for k, v in info.items() if k in ("_id", "id", *expand)} if expand else info

    def _create_branch(self, request: httpx2.Request, repo_id: str, branch: str) -> Any:
        repo = self._repo(request, repo_id, write=True)
        if branch in repo.branches:
            raise ErrorAnswer(409, f"Reference already exists: refs/heads/{branch}")
        start = json.loads(request.content or b"{}").get("startingPoint") or "main"
        head, files = self._revision(repo, start)
        repo.branches[branch], repo.heads[branch] = dict(files), head
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
            return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}
        entry = {"type": "file", "oid": blob.git_oid(), "size": len(blob.content), "path": path}
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
        """A folder's entries (``recursive=true``: all below it), sorted, in pages of ``tree_page_size`` linked by a
        ``Link: <...cursor=...>; rel="next"`` header as the Hub pages them."""
        _, files = self._revision(self._repo(request, repo_id), revision)
        prefix = f"{folder.strip('/')}/" if folder else ""
        recursive = request.url.params.get("recursive", "").lower() == "true"
        entries = self._entries(files)
        if prefix and (prefix[:-1] not in entries or entries[prefix[:-1]] is not None):
            raise ErrorAnswer(404, f"{folder} is not a folder of {repo_id}@{revision}", "EntryNotFound")
        listing = [self._entry(path, blob) for path, blob in sorted(entries.items())
                   if path.startswith(prefix) and (recursive or "/" not in path[len(prefix):])]
        start = int(base64.urlsafe_b64decode(request.url.params["cursor"])) if "cursor" in request.url.params else 0
        page, headers = listing[start:start + self.tree_page_size], {}
        if start + self.tree_page_size < len(listing):
            cursor = base64.urlsafe_b64encode(str(start + self.tree_page_size).encode()).decode()
            headers["Link"] = f'<{request.url.copy_set_param("cursor", cursor)}>; rel="next"'
        return httpx2.Response(200, json=page, headers=headers)

    def _paths_info(self, request: httpx2.Request, repo_id: str, revision: str) -> Any:
        _, files = self._revision(self._repo(request, repo_id), revision)
        entries = self._entries(files)
        paths = parse_qs(request.content.decode()).get("paths", [])
        return [self._entry(path, entries[path]) for path in paths if path in entries]

    def _resolve(self, request: httpx2.Request, repo_id: str, revision: str, path: str) -> Any:
        """A file of a branch or commit: a regular file is served here (``ETag`` its git blob id); an LFS file is a
        302 to its signed CDN URL, with ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``. Both carry
        ``X-Repo-Commit``, the commit the revision resolved to."""
        repo = self._repo(request, repo_id)
        commit, files = self._revision(repo, revision)
        blob = files.get(path)
        if blob is None:
            raise ErrorAnswer(404, "Entry not found", "EntryNotFound")
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        if not blob.lfs:
            return self._serve(request, blob.content, headers | {"ETag": f'"{blob.git_oid()}"'})
        oid, name = blob.sha256(), quote(path.rsplit("/", 1)[-1])
        repo_hash = hashlib.sha256(f"datasets/{repo_id}".encode()).hexdigest()
        location = (f"https://{CDN_HOST}/repos/{repo_hash[:2]}/{repo_hash[2:4]}/{repo_hash}/{oid}"
                    f"?response-content-disposition=inline%3B+filename%2A%3DUTF-8%27%27{name}%3B"
                    f"&Expires=4102444800&Signature=fake&Key-Pair-Id=FAKE")
        headers |= {"Location": location, "X-Linked-Etag": f'"{oid}"', "X-Linked-Size": str(len(blob.content))}
        return httpx2.Response(302, headers=headers, text=f"Found. Redirecting to {location}")

    def _cdn(self, request: httpx2.Request, oid: str) -> Any:
        """The CDN behind an LFS redirect: serves the object (``ETag`` its MD5, as S3 gives) to whoever has the
        signed URL; a token is not needed and never sent there."""
        if "Signature" not in request.url.params or oid not in self.lfs:
            raise ErrorAnswer(403, "Access Denied")
        content = self.lfs[oid]
        headers = {"ETag": f'"{hashlib.md5(content).hexdigest()}"', "Accept-Ranges": "bytes"}
        return self._serve(request, content, headers)

    def _viewer(self, request: httpx2.Request) -> Any:
        """The dataset viewer (``datasets`` asks it for a Parquet export and its infos): it has processed no dataset
        of the fake, so it answers as for one it does not know, and ``datasets`` reads the repo itself."""
        raise ErrorAnswer(404, "The dataset does not exist, or is not accessible without authentication (private or "
                               "gated). Please check the spelling of the dataset name or retry with authentication.")

    @staticmethod
    def _serve(request: httpx2.Request, content: bytes, headers: dict[str, str]) -> httpx2.Response:
        """``content`` whole (200) or the asked ``Range: bytes=a-b`` (206, or 416 past the end)."""
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if not wanted:
            return httpx2.Response(200, headers=headers, content=content)
        start = int(wanted[1])
        end = min(int(wanted[2]) if wanted[2] else len(content) - 1, len(content) - 1)
        if start >= len(content):
            return httpx2.Response(416, headers={"Content-Range": f"bytes */{len(content)}"})
        headers = headers | {"Content-Range": f"bytes {start}-{end}/{len(content)}"}
        return httpx2.Response(206, headers=headers, content=content[start:end + 1])
