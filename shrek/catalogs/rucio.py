"""The Rucio catalogue, through ``rucio-clients``.

Input datasets are listed with their files' sizes and checksums (adler32, and md5 where Rucio
has it); outputs are uploaded to the registry's RSE into datasets named by the tag. Settings
come from ``shrek.yaml`` (``rucio: {host, auth_host, account, auth_type, scope, rse}``); the
credentials themselves stay in Rucio's own client configuration (``$RUCIO_CONFIG``), never in
the registry. Every Rucio failure becomes one clear message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shrek.catalogs import DatasetFile, DatasetInfo
from shrek.core.hashing import adler32_file
from shrek.errors import ExitCode, ShrekError


class RucioCatalog:
    kind = "rucio"

    def __init__(self, settings: dict[str, Any], *, allow_open: bool = False) -> None:
        self.settings = settings
        self.allow_open = allow_open
        self._client: Any = None

    # -- connection ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(
            self.settings.get("host") or os.environ.get("RUCIO_HOST", "") or self._config_host()
        )

    @staticmethod
    def _config_host() -> str:
        try:
            from rucio.common.config import config_get

            return str(config_get("client", "rucio_host"))
        except Exception:
            return "(rucio_host of the Rucio client configuration)"

    @property
    def scope(self) -> str:
        scope = self.settings.get("scope")
        if not scope:
            raise ShrekError(
                "no Rucio scope configured", "set rucio: {scope: ...} in shrek.yaml", ExitCode.USAGE
            )
        return str(scope)

    def client(self) -> Any:
        if self._client is None:
            with self._errors("connecting to", "the server"):
                try:
                    from rucio.client import Client
                except ImportError as exc:
                    raise ShrekError(
                        "rucio-clients is not installed",
                        "pip install rucio-clients (or make install)",
                        ExitCode.TOOL_MISSING,
                    ) from exc
                kwargs = {
                    k: self.settings[k] for k in ("account", "auth_type") if self.settings.get(k)
                }
                if self.settings.get("host"):
                    kwargs["rucio_host"] = self.settings["host"]
                if self.settings.get("auth_host"):
                    kwargs["auth_host"] = self.settings["auth_host"]
                # Rucio's client logs each failure in colour on stderr; SHREK explains them once
                self._client = Client(**kwargs, logger=_quiet_logger())
        return self._client

    @contextmanager
    def _errors(self, doing: str, did: str = "") -> Iterator[None]:
        """Every Rucio failure as one clear ShrekError, told apart by its exception class."""
        try:
            yield
        except ShrekError:
            raise
        except Exception as exc:
            raise self._explain(exc, doing, did) from exc

    def _explain(self, exc: Exception, doing: str, did: str) -> ShrekError:
        from requests.exceptions import ConnectionError as RequestsConnectionError
        from rucio.common import exception as rucio_errors

        text = " ".join(str(exc).split())[:400]
        where = f" {did}" if did else ""
        if isinstance(exc, (rucio_errors.ConfigLoadingError, rucio_errors.ConfigNotFound)):
            return ShrekError(
                f"no Rucio client configuration: {text}",
                "point $RUCIO_CONFIG at a rucio.cfg with your account and "
                "credentials (they never go into shrek.yaml)",
                ExitCode.CREDENTIALS,
            )
        if isinstance(exc, rucio_errors.CannotAuthenticate):
            return ShrekError(
                f"Rucio at {self.host} refused the credentials: {text}",
                "check the account and credentials in your Rucio client "
                "configuration ($RUCIO_CONFIG)",
                ExitCode.CREDENTIALS,
            )
        if isinstance(
            exc,
            (
                rucio_errors.DataIdentifierNotFound,
                rucio_errors.ScopeNotFound,
                rucio_errors.RSENotFound,
            ),
        ):
            return ShrekError(
                f"Rucio has no{where}: {text}",
                "check the scope and name ('rucio list-dids SCOPE:*')",
                ExitCode.NOT_FOUND,
            )
        if isinstance(exc, rucio_errors.AccessDenied):
            return ShrekError(
                f"Rucio denied {doing}{where}: {text}",
                "ask for the permission, or use your own scope",
                ExitCode.BACKEND,
            )
        if isinstance(exc, (RequestsConnectionError, ConnectionError)) or (
            isinstance(exc, (rucio_errors.ServiceUnavailable, rucio_errors.RucioException))
            and "refused" in text.lower()
        ):
            return ShrekError(
                f"cannot reach the Rucio server at {self.host}: {text}",
                "check rucio: {host} in shrek.yaml and the network",
                ExitCode.BACKEND,
            )
        return ShrekError(
            f"Rucio failed {doing}{where}: {type(exc).__name__}: {text}",
            "see the message; re-run when it is fixed",
            ExitCode.BACKEND,
        )

    # -- names -------------------------------------------------------------------------------

    def split(self, dataset: str) -> tuple[str, str]:
        """(scope, name) as Rucio's own convention reads a DID (``extract_scope``).

        ``scope:name`` is explicit; ``user.<nick>.…`` and ``group.<name>.…`` (PanDA's outputs)
        are in their two-part scope, with a container's trailing ``/`` dropped. Any other name
        without a colon is one SHREK made for its own outputs, registered in the configured
        scope (Rucio's default convention would cut its first dot-separated part instead).
        """
        if ":" in dataset or dataset.startswith(("user.", "group.")):
            with self._errors("reading the name", dataset):
                from rucio.common.utils import extract_scope

                scope, name = extract_scope(dataset)
            return str(scope), str(name)
        return self.scope, dataset

    def did(self, dataset: str) -> str:
        return ":".join(self.split(dataset))

    def describe(self) -> str:
        return f"rucio {self.host}"

    # -- the Catalog interface --------------------------------------------------------------

    def files(self, dataset: str) -> list[DatasetFile]:
        scope, name = self.split(dataset)
        did = f"{scope}:{name}"
        client = self.client()
        with self._errors("listing", did):
            info = client.get_did(scope, name)
            if info.get("type", "").upper() == "FILE":
                raise ShrekError(
                    f"{did} is a file, not a dataset", "name a dataset or container", ExitCode.USAGE
                )
            if info.get("open") and not self.allow_open:
                raise ShrekError(
                    f"Rucio dataset {did} is open: files may still be added, so "
                    "its content cannot be pinned",
                    f"close it (rucio close {did}), or freeze with --allow-open",
                    ExitCode.INVALID,
                )
            listed = list(client.list_files(scope, name))
            md5 = {}
            locations = {}
            for replica in client.list_replicas(
                [{"scope": scope, "name": name}], schemes=["file", "root", "davs", "https"]
            ):
                md5[replica["name"]] = replica.get("md5")
                pfns = sorted(replica.get("pfns") or {})
                if pfns:
                    locations[replica["name"]] = _local_path(pfns[0])
        result = []
        for item in listed:
            checksum = f"adler32:{item.get('adler32') or 'none'}"
            if md5.get(item["name"]):
                checksum += f",md5:{md5[item['name']]}"
            result.append(
                DatasetFile(
                    item["name"],
                    int(item.get("bytes") or 0),
                    checksum,
                    locations.get(item["name"], ""),
                )
            )
        return sorted(result, key=lambda f: f.name)

    def infos(self, datasets: list[str]) -> dict[str, DatasetInfo]:
        found = {}
        client = self.client()
        for dataset in datasets:
            scope, name = self.split(dataset)
            try:
                with self._errors("looking up", f"{scope}:{name}"):
                    info = client.get_did(scope, name, dynamic_depth="FILE")
            except ShrekError as error:
                if error.code == ExitCode.NOT_FOUND:
                    continue
                raise
            found[dataset] = DatasetInfo(
                dataset, int(info.get("length") or 0), int(info.get("bytes") or 0), ""
            )
        return found

    def exists(self, dataset: str) -> bool:
        scope, name = self.split(dataset)
        try:
            with self._errors("looking up", f"{scope}:{name}"):
                self.client().get_did(scope, name)
        except ShrekError as error:
            if error.code == ExitCode.NOT_FOUND:
                return False
            raise
        return True

    def datasets(self) -> list[DatasetInfo]:
        """The configured scope's datasets with their file counts and sizes: one listing call."""
        client = self.client()
        with self._errors("listing the datasets of", self.scope):
            found = client.list_dids(self.scope, [{"name": "*"}], did_type="dataset", long=True)
            infos = [
                DatasetInfo(
                    f"{self.scope}:{item['name']}",
                    int(item.get("length") or 0),
                    int(item.get("bytes") or 0),
                    "",
                )
                for item in found
            ]
        return sorted(infos, key=lambda info: info.name)

    def register(self, dataset: str, files: list[DatasetFile]) -> DatasetInfo:
        """Upload ``files`` (their ``location``) into ``dataset`` on the configured RSE.

        Each file's adler32 is checked against the one SHREK recorded before anything is sent,
        and against Rucio's after; a file already in the dataset with the same checksum is
        skipped, so publishing again is safe. (About 65 lines: the three checks — before, the
        upload, after — read best in the order they happen.)
        """
        scope, name = self.split(dataset)
        rse = self.settings.get("rse")
        if not rse:
            raise ShrekError(
                "no Rucio storage element configured",
                "set rucio: {rse: ...} in shrek.yaml",
                ExitCode.USAGE,
            )
        for item in files:
            actual = f"adler32:{adler32_file(Path(item.location))}"
            if not item.checksum.startswith(actual):
                raise ShrekError(
                    f"checksum mismatch for {item.location}: recorded "
                    f"{item.checksum}, the file now has {actual}",
                    "the file changed after it was produced; nothing was uploaded",
                    ExitCode.CONFLICT,
                )
        client = self.client()
        existing = {}
        with self._errors("reading", f"{scope}:{name}"):
            from rucio.common.exception import DataIdentifierNotFound

            with suppress(DataIdentifierNotFound):  # a new dataset: the upload creates it
                existing = {f["name"]: f.get("adler32") for f in client.list_files(scope, name)}
        todo = []
        for item in files:
            if item.name in existing:
                if f"adler32:{existing[item.name]}" != item.checksum.split(",")[0]:
                    raise ShrekError(
                        f"{scope}:{name} already holds a different {item.name}",
                        "files never change in a dataset: use a new dataset",
                        ExitCode.CONFLICT,
                    )
                continue
            todo.append(
                {
                    "path": item.location,
                    "rse": rse,
                    "did_scope": scope,
                    "did_name": item.name,
                    "dataset_scope": scope,
                    "dataset_name": name,
                    "register_after_upload": True,
                }
            )
        if todo:
            from rucio.client.uploadclient import UploadClient

            with self._errors("uploading to", f"{scope}:{name}"):
                UploadClient(_client=client, logger=_quiet_logger()).upload(todo)
        with self._errors("checking", f"{scope}:{name}"):
            stored = {f["name"]: f.get("adler32") for f in client.list_files(scope, name)}
        for item in files:
            if f"adler32:{stored.get(item.name)}" != item.checksum.split(",")[0]:
                raise ShrekError(
                    f"Rucio recorded {item.name} with adler32 "
                    f"{stored.get(item.name)}, SHREK computed {item.checksum}",
                    "investigate the storage; the record was not updated",
                    ExitCode.CONFLICT,
                )
        return DatasetInfo(f"{scope}:{name}", len(stored), sum(f.size for f in files), "")

    def annotate(self, dataset: str, metadata: dict[str, Any]) -> bool:
        """Set metadata on a dataset: Rucio's own columns (``campaign``, ``prod_step``,
        ``version``, ``stream_name``: every Rucio database keeps them) directly; any other key
        (SHREK's ``shrek_*`` documents) through Rucio's JSON metadata plugin. False when the
        server keeps no JSON metadata (its database is SQLite): only the columns were set."""
        scope, name = self.split(dataset)
        client = self.client()
        columns = {k: v for k, v in metadata.items() if k in DID_COLUMNS}
        documents = {k: v for k, v in metadata.items() if k not in DID_COLUMNS}
        if columns:
            with self._errors("annotating", f"{scope}:{name}"):
                client.set_metadata_bulk(scope, name, columns)
        if not documents:
            return True
        from rucio.common.exception import InvalidMetadata

        try:
            with self._errors("annotating", f"{scope}:{name}"):
                client.set_metadata_bulk(scope, name, documents)
        except ShrekError as error:
            if isinstance(error.__cause__, InvalidMetadata) and "No plugin manages" in str(
                error.__cause__
            ):
                return False
            raise
        return True


# Rucio's own dataset columns SHREK fills (their sizes: campaign 50, prod_step 50, version 50,
# stream_name 70 characters).
DID_COLUMNS = ("campaign", "prod_step", "version", "stream_name")


def _local_path(pfn: str) -> str:
    """A file:// replica is readable in place by the local backend."""
    parsed = urlparse(pfn)
    return parsed.path if parsed.scheme == "file" else pfn


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("shrek.rucio")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger
