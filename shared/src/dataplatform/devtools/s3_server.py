"""S3Proxy on loopback: a real S3-compatible server that serves a local folder over the S3 API
(its `filesystem-nio2` backend), for the `s3://` lake tests.

Its jars come from Maven Central through `infrastructure/local/jvm.sh` (which `make test` runs)
into a cache folder outside the repository: `S3_JARS`. Requests are signed (AWS signature v2 or
v4) with a fixed test identity, so the lake reaches it exactly as it reaches AWS S3. A Delta
commit on S3 is a conditional PUT (`If-None-Match: *`), which S3Proxy 4.1 refuses atomically
when the key exists (see infrastructure/jvm/s3/pom.xml for why not an older one).
"""

import urllib.error
import urllib.request
from pathlib import Path

from dataplatform.devtools.jvm import JVM_CACHE, JVM_OPTIONS, JvmServer, missing_jars
from dataplatform.platform.collector import free_port

S3_JARS = JVM_CACHE / "s3"
IDENTITY = "dataplatform-test"
CREDENTIAL = "dataplatform-test-credential"
REGION = "us-east-1"


def missing_s3_jars() -> str | None:
    """Why no S3 server can start here, naming the script that brings its jars; None when one
    can."""
    return missing_jars("S3 server (S3Proxy)", S3_JARS, "s3proxy-*.jar")


class S3Server(JvmServer):
    name = "S3Proxy"

    """One S3Proxy process keeping its buckets under `folder/buckets`, its configuration and
    log in `folder`; `start` returns once it answers HTTP."""

    def __init__(self, jars: Path, folder: Path) -> None:
        super().__init__(folder, free_port())
        self.classpath = f"{jars}/*"
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.buckets = folder / "buckets"
        self._properties = folder / "s3proxy.properties"
        self._log_config = folder / "logback.xml"
        self._log = folder / "s3proxy.log"
        self._write_configuration()

    def _write_configuration(self) -> None:
        self.buckets.mkdir(parents=True, exist_ok=True)
        settings = {
            "s3proxy.endpoint": self.endpoint,
            "s3proxy.authorization": "aws-v2-or-v4",
            "s3proxy.identity": IDENTITY,
            "s3proxy.credential": CREDENTIAL,
            "jclouds.provider": "filesystem-nio2",
            "jclouds.filesystem.basedir": str(self.buckets),
        }
        self._properties.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        # Logback's default writes every request at DEBUG to stdout; warnings to a file suffice.
        self._log_config.write_text(
            "<configuration>\n"
            '  <appender name="file" class="ch.qos.logback.core.FileAppender">\n'
            f"    <file>{self._log}</file>\n"
            "    <encoder><pattern>%d %level %logger{36} %msg%n</pattern></encoder>\n"
            "  </appender>\n"
            '  <root level="WARN"><appender-ref ref="file"/></root>\n'
            "</configuration>\n"
        )

    @property
    def storage_options(self) -> dict[str, str]:
        """delta-rs's storage options for this server (the lake adds the conditional put)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": IDENTITY,
            "AWS_SECRET_ACCESS_KEY": CREDENTIAL,
            "AWS_REGION": REGION,
            "AWS_ALLOW_HTTP": "true",
        }

    def _command(self) -> list[str]:
        return [
            "java",
            *JVM_OPTIONS,
            f"-Dlogback.configurationFile={self._log_config}",
            "-cp",
            self.classpath,
            "org.gaul.s3proxy.Main",
            "--properties",
            str(self._properties),
        ]

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint, timeout=5).close()  # noqa: S310 (loopback)
        except urllib.error.HTTPError:
            return True  # refused for want of a signature: it is up
        except OSError:
            return False
        return True

    def _log_files(self) -> list[Path]:
        return [self.folder / "stdout.log", self._log]

    def create_bucket(self, name: str) -> None:
        """Create bucket `name` through the S3 API, as an operator does before the lake uses it."""
        from pyarrow.fs import S3FileSystem

        client = S3FileSystem(
            access_key=IDENTITY,
            secret_key=CREDENTIAL,
            region=REGION,
            endpoint_override=self.endpoint,
            scheme="http",
            allow_bucket_creation=True,
        )
        client.create_dir(name)

    def stored(self, uri: str) -> Path:
        """The folder in which the server keeps the objects under `uri` (`s3://bucket/prefix`):
        to look at them without the S3 API."""
        return self.buckets / uri.removeprefix("s3://")
