"""egress-guard handler wrapper for Python Lambda functions (standard library only, one module).

The layer ships this file as /opt/egress-guard/python/egress_guard_wrapper.py; the exec wrapper prepends that directory
to PYTHONPATH, sets ``_HANDLER=egress_guard_wrapper.handler`` and keeps the function's own handler string in
``EGRESS_GUARD_ORIGINAL_HANDLER``. It is the twin of the Node wrapper (layer/node/): same environment variables, same
log lines and fields (docs/LOGGING.md), same EMF line, same shared invoke-state protocol (docs/STATE.md).

Contract
- Import (= the init phase): the guard takes its "load" snapshot of /proc/net/dev, then imports the original handler
  the way the Python runtime does (``module.function``, ``package.module.function``, ``dir/module.function``; the task
  root on sys.path), so the function's own init traffic and init errors stay in the init phase.
- ``handler(event, context)`` and ``with_egress_guard(fn, **options)`` meter every invocation: snapshots at start and
  end (also when the handler raises, and shortly before the deadline of an invoke that times out), the state file's
  request id and flags, one ``invoke`` log line and one EMF line; the ``init`` line once, at the first invoke.
- Budgets (from the compiled policy header, or options): a daemon thread samples the counters every
  ``EGRESS_GUARD_SAMPLE_MS`` (default 10) while a handler runs. Audit: a ``budget`` line and the metric. Enforce:
  BUDGET_TRIPPED is set at once (the interposer then blocks new connections and sends), the handler is interrupted —
  a signal makes its blocking call raise, as Ctrl-C would (``EGRESS_GUARD_INTERRUPT=off`` disables this; then it fails
  when it returns) — and the invocation fails with ``EgressBudgetExceededError`` (code ``E_BUDGET_EXCEEDED``).
- Concurrent invokes (Lambda Managed Instances run several Python processes per environment, with
  ``AWS_LAMBDA_MAX_CONCURRENCY`` > 1) make /proc/net/dev deltas environment-wide: they are reported ``concurrent`` and
  budgets are not enforced (see docs/METERING.md).
- A failure of the meter itself is logged once and never fails an invocation.
"""

import importlib
import json
import os
import signal
import sys
import threading
import time
import zlib

__all__ = ["handler", "with_egress_guard", "EgressBudgetExceededError", "HandlerLoadError"]

DEFAULT_SAMPLE_MS = 10
DEFAULT_TIMEOUT_MARGIN_MS = 50

# ---------------------------------------------------------------------------------------------------------- errors


class EgressBudgetExceededError(Exception):
    """Enforce mode: a per-invoke byte budget was exceeded. ``code`` is ``E_BUDGET_EXCEEDED``."""

    code = "E_BUDGET_EXCEEDED"

    def __init__(self, budget, limit, observed, request_id):
        super().__init__(
            "egress budget exceeded: %s %d bytes observed, limit %d (request %s); further egress of this invocation "
            "is blocked; raise budgets.perInvoke in the policy if this is expected" % (budget, observed, limit, request_id)
        )
        self.budget = budget
        self.limit = limit
        self.observed = observed
        self.request_id = request_id


class HandlerLoadError(Exception):
    """The original handler could not be loaded. ``code``: E_HANDLER_UNSET, E_HANDLER_MALFORMED,
    E_HANDLER_MODULE_NOT_FOUND, E_HANDLER_IMPORT, E_HANDLER_NOT_FOUND; the message starts with the runtime's own error
    type (Runtime.ImportModuleError …)."""

    RUNTIME = {
        "E_HANDLER_UNSET": "Runtime.MalformedHandlerName",
        "E_HANDLER_MALFORMED": "Runtime.MalformedHandlerName",
        "E_HANDLER_MODULE_NOT_FOUND": "Runtime.ImportModuleError",
        "E_HANDLER_IMPORT": "Runtime.ImportModuleError",
        "E_HANDLER_NOT_FOUND": "Runtime.HandlerNotFound",
    }

    def __init__(self, code, message):
        super().__init__("%s: %s [%s]" % (self.RUNTIME[code], message, code))
        self.code = code


class _BudgetInterrupt(BaseException):
    """Raised inside the handler by the signal the sampler sends; a BaseException so that ``except Exception`` in user
    code does not swallow it. The wrapper turns it into EgressBudgetExceededError."""


# --------------------------------------------------------------------------------------------- /proc/net/dev parser


class ProcNetDevError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_proc_net_dev(text):
    """Every interface line of /proc/net/dev as (name, rx_bytes, rx_packets, tx_bytes, tx_packets), in file order, and
    the 1-based numbers of malformed lines. Python ints are exact for u64. Same rules as layer/node/procnetdev.ts."""
    headers = 0
    ifaces = []
    malformed = []
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        colon = line.find(":")
        if colon < 0:
            if "|" in line:
                headers += 1
            else:
                malformed.append(i + 1)
            continue
        name = line[:colon].strip()
        fields = line[colon + 1 :].split()
        # only the four counters used are converted (the hot path); a sign or any non-digit makes the line malformed
        try:
            if not name or " " in name or "\t" in name or len(fields) < 16:
                raise ValueError(name)
            rec = (name, int(fields[0]), int(fields[1]), int(fields[8]), int(fields[9]))
            if not (fields[0].isdigit() and fields[1].isdigit() and fields[8].isdigit() and fields[9].isdigit()):
                raise ValueError(name)
        except ValueError:
            malformed.append(i + 1)
            continue
        ifaces.append(rec)
    if headers == 0:
        raise ProcNetDevError("E_PROCNETDEV_FORMAT", "not /proc/net/dev: no header line; check the path given to the byte meter")
    return ifaces, malformed


def _glob(pattern):
    parts = pattern.split("*")
    if len(parts) == 1:
        return lambda n: n == pattern
    return lambda n: _glob_match(parts, n)


def _glob_match(parts, name):
    if not name.startswith(parts[0]) or not name.endswith(parts[-1]) or len(name) < len(parts[0]) + len(parts[-1]):
        return False
    pos = len(parts[0])
    end = len(name) - len(parts[-1])
    for mid in parts[1:-1]:
        k = name.find(mid, pos, end)
        if k < 0:
            return False
        pos = k + len(mid)
    return True


def interface_filter(include=None, exclude=None):
    """Which interfaces count: ``include`` (exact names or ``*`` globs; default all), minus ``exclude`` (default lo)."""
    inc = [_glob(p) for p in include] if include else None
    exc = [_glob(p) for p in (exclude if exclude is not None else ["lo"])]
    cache = {}

    def counts(name):
        v = cache.get(name)
        if v is None:
            v = (inc is None or any(f(name) for f in inc)) and not any(f(name) for f in exc)
            cache[name] = v
        return v

    return counts


def delta_bytes(prev, cur, counts):
    """Bytes between two snapshots over the counted interfaces: (rx, tx, reset, appeared, vanished) — a counter that
    went backwards was reset and counts its current value; a new interface counts from 0; a vanished one adds nothing."""
    before = {p[0]: p for p in prev}
    rx = tx = 0
    reset, appeared = [], []
    seen = set()
    for c in cur:
        name = c[0]
        if not counts(name):
            continue
        seen.add(name)
        p = before.get(name)
        if p is None:
            appeared.append(name)
            rx += c[1]
            tx += c[3]
        elif c[1] < p[1] or c[3] < p[3]:
            reset.append(name)
            rx += c[1] if c[1] < p[1] else c[1] - p[1]
            tx += c[3] if c[3] < p[3] else c[3] - p[3]
        else:
            rx += c[1] - p[1]
            tx += c[3] - p[3]
    vanished = [p[0] for p in prev if counts(p[0]) and p[0] not in seen]
    return rx, tx, reset, appeared, vanished


class NetDevReader:
    """/proc/net/dev through one descriptor, re-read with pread at offset 0 (seq_file regenerates it)."""

    def __init__(self, path="/proc/net/dev"):
        self.path = path
        self.fd = -1
        self.size = 16384

    def read(self):
        try:
            if self.fd < 0:
                self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            while True:
                data = os.pread(self.fd, self.size, 0)
                if len(data) < self.size:
                    break
                self.size *= 4
        except OSError as e:
            raise ProcNetDevError("E_PROCNETDEV_READ", "cannot read %s: %s" % (self.path, e))
        return parse_proc_net_dev(data.decode("latin-1"))


# ------------------------------------------------------------------------------------------------ policy header


class PolicyHeaderError(Exception):
    def __init__(self, code, message, path):
        super().__init__(message)
        self.code = code
        self.path = path


_POLICY_MAGIC = b"EGRDPOL\x01"
_NONE = 0xFFFFFFFFFFFFFFFF


def read_policy_header(path):
    """(mode, budgets) from the compiled policy's header (docs/FORMAT.md): magic, version, header size, flags,
    file_size, section_count and meta_crc32 checked; error codes as the interposer's policy events."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise PolicyHeaderError(
            "E_POLICY_MISSING", "cannot open the compiled policy %s (%s); check EGRESS_GUARD_POLICY" % (path, e.strerror), path
        )
    try:
        size = os.fstat(fd).st_size

        def fail(code, what):
            raise PolicyHeaderError(code, "%s: %s; recompile it with `egress-guard compile`" % (path, what), path)

        if size < 64:
            fail("E_POLICY_HEADER", "file is %d bytes, shorter than the 64-byte header" % size)
        h = os.pread(fd, 64, 0)
        if h[:8] != _POLICY_MAGIC:
            fail("E_POLICY_MAGIC", "not a compiled egress-guard policy (bad magic)")
        version = int.from_bytes(h[8:10], "little")
        if version != 1:
            fail("E_POLICY_VERSION", "format version expected 1, got %d" % version)
        if int.from_bytes(h[10:12], "little") != 64:
            fail("E_POLICY_HEADER", "header_size is not 64")
        flags = int.from_bytes(h[12:16], "little")
        if flags & ~0b11:
            fail("E_POLICY_HEADER", "unknown flag bits 0x%x" % flags)
        file_size = int.from_bytes(h[16:24], "little")
        if file_size != size:
            fail("E_POLICY_SIZE", "file_size says %d bytes but the file has %d" % (file_size, size))
        sections = int.from_bytes(h[24:28], "little")
        if sections < 10 or sections > 64 or 64 + 16 * sections > size:
            fail("E_POLICY_HEADER", "section_count %d out of range" % sections)
        meta = bytearray(os.pread(fd, 64 + 16 * sections, 0))
        want = int.from_bytes(meta[28:32], "little")
        meta[28:36] = b"\0" * 8
        if zlib.crc32(bytes(meta)) != want:
            fail("E_POLICY_CRC", "header checksum (meta_crc32) does not match")
        budgets = {}
        for name, off in (("rxBytes", 40), ("txBytes", 48), ("totalBytes", 56)):
            v = int.from_bytes(h[off : off + 8], "little")
            if v != _NONE:
                budgets[name] = v
        return ("enforce" if flags & 1 else "audit"), budgets
    finally:
        os.close(fd)


def resolve_mode(file_mode, env_value):
    """(mode, invalid): EGRESS_GUARD_MODE (audit|enforce|off, any case) overrides the file's mode."""
    if env_value is None or not env_value.strip():
        return file_mode, None
    v = env_value.strip().lower()
    if v in ("audit", "enforce", "off"):
        return v, None
    return file_mode, env_value


# --------------------------------------------------------------------------------------------- invoke-state file

STATE_SIZE = 256
STATE_MAGIC = b"EGSTATE\x01"
FLAG_IN_INVOKE = 1
FLAG_BUDGET_TRIPPED = 2
FLAG_CONCURRENT = 4


class StateFileError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class InvokeStateFile:
    """The wrapper side of docs/STATE.md: create if missing; seqlock writes (odd seq, fields, even seq; one pwrite
    each); counters read, never written. A lock serialises this process's writers (sampler thread vs. handler)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        try:
            d = os.path.dirname(path)
            if d:
                os.makedirs(d, mode=0o700, exist_ok=True)
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise StateFileError("E_STATE_OPEN", "cannot open the invoke-state file %s: %s" % (path, e))
        if os.fstat(self.fd).st_size < STATE_SIZE:
            os.ftruncate(self.fd, STATE_SIZE)
            os.pwrite(self.fd, STATE_MAGIC + (1).to_bytes(4, "little") + STATE_SIZE.to_bytes(4, "little"), 0)
        h = os.pread(self.fd, 16, 0)
        if h[:8] != STATE_MAGIC or h[8:12] != (1).to_bytes(4, "little") or h[12:16] != STATE_SIZE.to_bytes(4, "little"):
            raise StateFileError(
                "E_STATE_INVALID",
                "%s is not an egress-guard invoke-state file (wrong magic, version or size); remove it or point "
                "EGRESS_GUARD_STATE elsewhere" % path,
            )

    def _head(self):
        b = os.pread(self.fd, 160, 0)
        if len(b) != 160:
            raise StateFileError("E_STATE_IO", "short read of %s" % self.path)
        return b

    @staticmethod
    def _parse(b):
        u64 = lambda o: int.from_bytes(b[o : o + 8], "little")  # noqa: E731
        return {
            "invoke_seq": u64(24),
            "flags": int.from_bytes(b[32:36], "little"),
            "counters": (u64(128), u64(136), u64(144), u64(152)),
        }

    def _publish(self, head, writes):
        seq = int.from_bytes(head[16:24], "little")
        odd = seq + 2 if seq % 2 else seq + 1
        os.pwrite(self.fd, odd.to_bytes(8, "little"), 16)
        for data, off in writes:
            os.pwrite(self.fd, data, off)
        os.pwrite(self.fd, (odd + 1).to_bytes(8, "little"), 16)

    def begin(self, request_id, concurrent):
        with self.lock:
            head = self._head()
            before = self._parse(head)
            invoke_seq = before["invoke_seq"] + 1
            flags = FLAG_IN_INVOKE | (FLAG_CONCURRENT if concurrent else 0)
            rid = request_id.encode("latin-1", "replace") if len(request_id) <= 64 else b""
            fields = (
                invoke_seq.to_bytes(8, "little")
                + flags.to_bytes(4, "little")
                + len(rid).to_bytes(4, "little")
                + rid.ljust(64, b"\0")
            )
            self._publish(head, [(fields, 24)])
            return before, invoke_seq

    def set_flags(self, bits):
        with self.lock:
            head = self._head()
            flags = int.from_bytes(head[32:36], "little") | bits
            self._publish(head, [(flags.to_bytes(4, "little"), 32)])

    def end(self, still_in_invoke):
        with self.lock:
            head = self._head()
            at = self._parse(head)
            if not still_in_invoke:
                self._publish(head, [((at["flags"] & ~FLAG_IN_INVOKE).to_bytes(4, "little"), 32)])
            return at


# ----------------------------------------------------------------------------------------------------- output


class GuardLog:
    """JSON lines as docs/LOGGING.md (pino-compatible). EGRESS_GUARD_LOG: unset/stderr → fd 2, off → nothing, else a
    file opened O_APPEND (shared with the interposer). One os.write per line: no buffering to lose at a freeze."""

    def __init__(self, dest=None):
        d = (dest or "").strip()
        self.fd = None
        if d in ("", "stderr"):
            self.fd = 2
        elif d != "off":
            try:
                parent = os.path.dirname(d)
                if parent:
                    os.makedirs(parent, exist_ok=True)
                self.fd = os.open(d, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError:
                self.fd = 2

    def write(self, level, fields, msg):
        if self.fd is None:
            return
        rec = {"level": level, "time": int(time.time() * 1000), "pid": os.getpid(), "name": "egress-guard"}
        rec.update(fields)
        rec["msg"] = msg
        try:
            os.write(self.fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode("utf-8"))
        except OSError:
            pass


_EMF_METRICS = json.dumps(
    [
        {"Name": "RxBytes", "Unit": "Bytes"},
        {"Name": "TxBytes", "Unit": "Bytes"},
        {"Name": "BudgetExceeded", "Unit": "Count"},
        {"Name": "BlockedConnections", "Unit": "Count"},
    ],
    separators=(",", ":"),
)
_EMF_METRICS_CONCURRENT = json.dumps(
    [{"Name": "BudgetExceeded", "Unit": "Count"}, {"Name": "ConcurrentInvokes", "Unit": "Count"}], separators=(",", ":")
)


def emf_line(namespace, function_name, request_id, rx, tx, exceeded, blocked, concurrent):
    """One CloudWatch EMF object, the same bytes as layer/node/emf.ts writes (see there for the rules). Built from
    pre-serialised pieces: only the numbers and names vary (this runs once per invoke)."""
    d = json.dumps
    head = '{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":%s,"Dimensions":[["FunctionName"]],"Metrics":%s}]},' % (
        int(time.time() * 1000),
        d(namespace),
        _EMF_METRICS_CONCURRENT if concurrent else _EMF_METRICS,
    )
    if concurrent:
        body = '"FunctionName":%s,"BudgetExceeded":%d,"ConcurrentInvokes":1' % (d(function_name), 1 if exceeded else 0)
    else:
        body = '"FunctionName":%s,"RxBytes":%d,"TxBytes":%d,"BudgetExceeded":%d,"BlockedConnections":%d' % (
            d(function_name),
            rx,
            tx,
            1 if exceeded else 0,
            blocked,
        )
    return '%s%s,"requestId":%s}\n' % (head, body, d(request_id))


# -------------------------------------------------------------------------------------------- process-wide state

_lock = threading.Lock()
_readers = {}
_states = {}
_log = None
_load_snapshot = None
_init_reported = False
_in_flight = set()
_logged_once = set()
_sampler = None
_interruptible = None  # the Invocation whose handler the signal may interrupt (main thread only)
_INTERRUPT_SIGNAL = getattr(signal, "SIGRTMIN", 34) + 6
_interrupt_installed = False


def _logger():
    global _log
    if _log is None:
        _log = GuardLog(os.environ.get("EGRESS_GUARD_LOG"))
    return _log


def _once(key, f):
    if key in _logged_once:
        return
    _logged_once.add(key)
    f()


def _on_interrupt(signum, frame):
    inv = _interruptible
    if inv is not None and inv.trip_error is not None and not inv.interrupted:
        inv.interrupted = True
        raise _BudgetInterrupt()


def _install_interrupt():
    """Installs the budget signal's handler once, from the main thread, only if nobody else handles that signal."""
    global _interrupt_installed
    if _interrupt_installed or threading.current_thread() is not threading.main_thread():
        return _interrupt_installed
    try:
        if signal.getsignal(_INTERRUPT_SIGNAL) in (signal.SIG_DFL, None):
            signal.signal(_INTERRUPT_SIGNAL, _on_interrupt)
            _interrupt_installed = True
    except (ValueError, OSError):
        pass
    return _interrupt_installed


def _env_list(name):
    v = os.environ.get(name)
    if v is None or not v.strip():
        return None
    return [s.strip() for s in v.split(",") if s.strip()]


def _env_num(name, default, minimum, warnings):
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        n = float(raw)
        if n >= minimum:
            return n
    except ValueError:
        pass
    warnings.append(("E_OPTION_INVALID", "%s must be a number >= %s, got %r; using %s" % (name, minimum, raw, default)))
    return default


class Guard:
    """Configuration plus process-wide resources; ``begin(context)`` starts an Invocation (or returns None and logs
    once when the meter cannot run here)."""

    def __init__(
        self,
        policy_path=None,
        mode=None,
        budgets=None,
        state_path=None,
        sample_interval_ms=None,
        timeout_margin_ms=None,
        interfaces_include=None,
        interfaces_exclude=None,
        metrics_namespace=None,
        metrics=None,
        proc_net_dev_path=None,
        function_name=None,
        interrupt=None,
    ):
        global _load_snapshot
        env = os.environ
        self.log = _logger()
        warnings = []
        self.sample_s = (sample_interval_ms or _env_num("EGRESS_GUARD_SAMPLE_MS", DEFAULT_SAMPLE_MS, 1, warnings)) / 1000.0
        margin = timeout_margin_ms
        if margin is None:
            margin = _env_num("EGRESS_GUARD_TIMEOUT_MARGIN_MS", DEFAULT_TIMEOUT_MARGIN_MS, 0, warnings)
        self.margin_ms = margin
        for code, msg in warnings:
            _once(code + msg, lambda c=code, m=msg: self.log.write(40, {"event": "init", "error": c}, m))
        policy_path = policy_path or env.get("EGRESS_GUARD_POLICY") or None
        file_mode, file_budgets = "audit", {}
        if policy_path:
            try:
                file_mode, file_budgets = read_policy_header(policy_path)
            except PolicyHeaderError as e:
                _once(
                    "policy:" + policy_path,
                    lambda: self.log.write(
                        50, {"event": "policy", "error": e.code, "path": e.path, "failClosed": False}, str(e)
                    ),
                )
        m, invalid = resolve_mode(file_mode, mode if mode is not None else env.get("EGRESS_GUARD_MODE"))
        if invalid is not None:
            _once(
                "mode:" + invalid,
                lambda: self.log.write(
                    50,
                    {"event": "policy", "error": "E_MODE_INVALID", "value": invalid},
                    'EGRESS_GUARD_MODE must be audit, enforce or off, got "%s"; using the policy\'s mode (%s)'
                    % (invalid, file_mode),
                ),
            )
        self.mode = m
        self.budgets = dict(file_budgets)
        for k, v in (budgets or {}).items():
            if k not in ("rxBytes", "txBytes", "totalBytes"):
                raise ValueError("with_egress_guard: unknown budget %r (rxBytes, txBytes, totalBytes)" % k)
            self.budgets[k] = int(v)
        self.counts = interface_filter(
            interfaces_include if interfaces_include is not None else _env_list("EGRESS_GUARD_INTERFACES"),
            interfaces_exclude
            if interfaces_exclude is not None
            else (_env_list("EGRESS_GUARD_INTERFACES_EXCLUDE") or ["lo"]),
        )
        self.namespace = metrics_namespace or env.get("EGRESS_GUARD_METRICS_NAMESPACE") or "EgressGuard"
        self.metrics = metrics if metrics is not None else env.get("EGRESS_GUARD_METRICS", "").strip().lower() != "off"
        self.function_name = function_name or env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        try:
            self.multi = float(env.get("AWS_LAMBDA_MAX_CONCURRENCY", "1")) > 1
        except ValueError:
            self.multi = False
        want_interrupt = interrupt if interrupt is not None else env.get("EGRESS_GUARD_INTERRUPT", "").lower() != "off"
        self.interrupt = want_interrupt and _install_interrupt()
        path = proc_net_dev_path or "/proc/net/dev"
        with _lock:
            self.reader = _readers.get(path)
            if self.reader is None:
                self.reader = _readers[path] = NetDevReader(path)
            sp = state_path if state_path is not None else (env.get("EGRESS_GUARD_STATE") or None)
            self.state = None
            if sp:
                if sp not in _states:
                    try:
                        _states[sp] = InvokeStateFile(sp)
                    except (StateFileError, OSError) as e:
                        _states[sp] = None
                        self.log.write(50, {"event": "init", "error": getattr(e, "code", "E_STATE_OPEN"), "path": sp}, str(e))
                self.state = _states[sp]
            if _load_snapshot is None:
                try:
                    _load_snapshot = self.reader.read()[0]
                except ProcNetDevError:
                    _load_snapshot = []

    def begin(self, context):
        try:
            return Invocation(self, context)
        except Exception as e:  # the meter must never fail the function
            code = getattr(e, "code", "E_METER")
            _once(
                "begin:" + str(code),
                lambda: self.log.write(
                    50, {"event": "invoke", "error": code}, "byte metering disabled for this invoke: %s" % e
                ),
            )
            return None

    def report_init(self, first, request_id):
        global _init_reported
        if _init_reported:
            return
        _init_reported = True
        ifaces, malformed = first
        rx = sum(i[1] for i in ifaces if self.counts(i[0]))
        tx = sum(i[3] for i in ifaces if self.counts(i[0]))
        srx, stx, _, _, _ = delta_bytes(_load_snapshot or [], ifaces, self.counts)
        names = [i[0] for i in ifaces]
        fields = {
            "event": "init",
            "requestId": request_id,
            "function": self.function_name,
            "rxBytes": rx,
            "txBytes": tx,
            "sinceLoad": {"rxBytes": srx, "txBytes": stx},
            "interfaces": names,
            "counted": [n for n in names if self.counts(n)],
            "mode": self.mode,
            "budget": dict(self.budgets),
        }
        if malformed:
            fields["malformedLines"] = malformed
        self.log.write(
            30,
            fields,
            "init: rx %d B, tx %d B before the first invoke; interfaces %s" % (rx, tx, ", ".join(names)),
        )


class _Sampler(threading.Thread):
    """One daemon thread per process: samples the active invocation's counters every interval while budgets apply,
    and ends an invocation shortly before its deadline. It polls every interval while invocations come (so starting
    one costs no thread wake-up, which under CPU contention can cost milliseconds of GIL hand-off), and blocks after
    IDLE_S without any; the first invocation after that wakes it. Lambda freezes the process between invocations, so
    polling costs nothing there."""

    IDLE_S = 1.0

    def __init__(self, interval_s):
        super().__init__(name="egress-guard-sampler", daemon=True)
        self.cv = threading.Condition()
        self.active = []
        self.interval_s = interval_s
        self.blocked = False

    def add(self, inv):
        with self.cv:
            self.active.append(inv)
            if self.blocked:
                self.cv.notify()

    def remove(self, inv):
        with self.cv:
            if inv in self.active:
                self.active.remove(inv)

    def run(self):
        last_active = time.monotonic()
        while True:
            with self.cv:
                now = time.monotonic()
                if self.active:
                    last_active = now
                    wake = min(min(inv.next_wake(now) for inv in self.active), now + self.interval_s)
                    if wake > now:
                        self.cv.wait(wake - now)
                elif now - last_active > self.IDLE_S:
                    self.blocked = True
                    self.cv.wait()
                    self.blocked = False
                    last_active = time.monotonic()
                else:
                    self.cv.wait(self.interval_s)
                due = list(self.active)
            now = time.monotonic()
            for inv in due:
                inv.tick(now)


def _sampler_thread(interval_s):
    global _sampler
    with _lock:
        if _sampler is None:
            _sampler = _Sampler(interval_s)
            _sampler.start()
    return _sampler


class Invocation:
    def __init__(self, guard, context):
        self.guard = guard
        self.request_id = getattr(context, "aws_request_id", "") or ""
        self.function_name = guard.function_name or getattr(context, "function_name", "") or ""
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.tripped = None
        self.trip_error = None
        self.interrupted = False
        self.finished = False
        self.main_thread = threading.current_thread() is threading.main_thread()
        with _lock:
            self.concurrent = guard.multi or bool(_in_flight)
            for other in _in_flight:
                other.mark_concurrent()
            _in_flight.add(self)
        first = guard.reader.read()
        self.start_dev = first[0]
        self.start_counters = None
        self.invoke_seq = 0
        if guard.state is not None:
            before, self.invoke_seq = guard.state.begin(self.request_id, self.concurrent)
            self.start_counters = before["counters"]
        guard.report_init(first, self.request_id)
        self.sampling = bool(guard.budgets) and guard.mode != "off"
        self.deadline = None
        get_remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(get_remaining):
            try:
                left = float(get_remaining()) - guard.margin_ms
                if left > 0:
                    self.deadline = self.start + left / 1000.0
            except Exception:
                self.deadline = None
        self.next_sample = self.start + guard.sample_s
        if self.sampling or self.deadline is not None:
            _sampler_thread(guard.sample_s).add(self)

    def mark_concurrent(self):
        if not self.concurrent:
            self.concurrent = True
            try:
                if self.guard.state is not None:
                    self.guard.state.set_flags(FLAG_CONCURRENT)
            except OSError:
                pass

    def next_wake(self, now):
        t = float("inf")
        if self.sampling and self.tripped is None:
            t = self.next_sample
        if self.deadline is not None:
            t = min(t, self.deadline)
        return t

    def tick(self, now):
        """Sampler thread: a budget sample when due, the timeout finish when the deadline is near."""
        if self.deadline is not None and now >= self.deadline:
            self.finish("timeout")
            return
        if self.sampling and now >= self.next_sample:
            self.next_sample = now + self.guard.sample_s
            try:
                rx, tx, _, _, _ = delta_bytes(self.start_dev, self.guard.reader.read()[0], self.guard.counts)
            except ProcNetDevError:
                return
            with self.lock:
                if self.finished:
                    return
                self.check(rx, tx)
            if self.trip_error is not None and self.guard.interrupt and self.main_thread and not self.interrupted:
                try:
                    signal.pthread_kill(threading.main_thread().ident, _INTERRUPT_SIGNAL)
                except (OSError, ValueError):
                    pass

    def check(self, rx, tx):
        """Compares with the budgets (caller holds self.lock); on the first breach logs it and, in enforce mode, trips."""
        if self.tripped is not None:
            return
        b = self.guard.budgets
        hit = None
        if "rxBytes" in b and rx > b["rxBytes"]:
            hit = ("rxBytes", b["rxBytes"], rx)
        elif "txBytes" in b and tx > b["txBytes"]:
            hit = ("txBytes", b["txBytes"], tx)
        elif "totalBytes" in b and rx + tx > b["totalBytes"]:
            hit = ("totalBytes", b["totalBytes"], rx + tx)
        if hit is None:
            return
        self.tripped = hit
        self.sampling = False
        enforced = self.guard.mode == "enforce" and not self.concurrent
        if enforced:
            try:
                if self.guard.state is not None:
                    self.guard.state.set_flags(FLAG_BUDGET_TRIPPED)
            except OSError:
                pass
            self.trip_error = EgressBudgetExceededError(hit[0], hit[1], hit[2], self.request_id)
        fields = {
            "event": "budget",
            "requestId": self.request_id,
            "function": self.function_name,
            "code": "E_BUDGET_EXCEEDED",
            "exceeded": hit[0],
            "limit": hit[1],
            "observed": hit[2],
            "rxBytes": rx,
            "txBytes": tx,
            "budget": dict(self.guard.budgets),
            "mode": self.guard.mode,
            "enforced": enforced,
        }
        if self.concurrent:
            fields["concurrent"] = True
        if enforced:
            what = "further egress blocked, invocation failed"
        elif self.concurrent:
            what = "concurrent invokes: not enforced"
        else:
            what = "audit: nothing blocked"
        self.guard.log.write(
            50 if enforced else 40, fields, "budget %s exceeded: %d > %d bytes (%s)" % (hit[0], hit[2], hit[1], what)
        )

    def finish(self, outcome):
        """Ends the invocation once (from the handler's thread, or the sampler at the deadline); returns the
        EgressBudgetExceededError the invocation must fail with, if any."""
        with self.lock:
            if self.finished:
                return self.trip_error
            self.finished = True
            return self._finish(outcome)

    def _finish(self, outcome):
        g = self.guard
        if _sampler is not None:
            _sampler.remove(self)
        with _lock:
            _in_flight.discard(self)
            others = bool(_in_flight)
        try:
            end = g.reader.read()[0]
        except ProcNetDevError:
            end = None
        counters = None
        if g.state is not None:
            try:
                at = g.state.end(others)
                counters = at["counters"]
                if at["invoke_seq"] != self.invoke_seq:
                    self.concurrent = True
            except (OSError, StateFileError):
                counters = None
        if end is not None:
            rx, tx, reset, appeared, vanished = delta_bytes(self.start_dev, end, g.counts)
            if g.budgets and g.mode != "off":
                self.check(rx, tx)
        else:
            rx = tx = 0
            reset = appeared = vanished = []
        duration_ms = (time.monotonic() - self.start) * 1000.0
        exceeded = self.tripped is not None
        fields = {
            "event": "invoke",
            "requestId": self.request_id,
            "function": self.function_name,
            "rxBytes": rx,
            "txBytes": tx,
            "durationMs": round(duration_ms, 3),
            "budget": dict(g.budgets),
            "budgetExceeded": exceeded,
        }
        blocked = 0
        if counters is not None and self.start_counters is not None:
            blocked = counters[2] - self.start_counters[2]
            fields["allowed"] = counters[0] - self.start_counters[0]
            fields["denied"] = counters[1] - self.start_counters[1]
            fields["blocked"] = blocked
        fields["mode"] = g.mode
        fields["outcome"] = outcome
        if outcome == "timeout":
            fields["timedOut"] = True
        if self.concurrent:
            fields["concurrent"] = True
        if end is None:
            fields["error"] = "E_PROCNETDEV_READ"
        if reset:
            fields["counterReset"] = reset
        if appeared:
            fields["interfacesAppeared"] = appeared
        if vanished:
            fields["interfacesVanished"] = vanished
        msg = "invoke %s: rx %d B, tx %d B in %.1f ms" % (self.request_id, rx, tx, duration_ms)
        if exceeded:
            msg += ", budget %s exceeded" % self.tripped[0]
        if self.concurrent:
            msg += " (concurrent invokes: environment-wide figures)"
        level = 50 if self.trip_error is not None else (40 if exceeded or outcome == "timeout" else 30)
        g.log.write(level, fields, msg)
        if g.metrics:
            try:
                sys.stdout.write(
                    emf_line(g.namespace, self.function_name, self.request_id, rx, tx, exceeded, blocked, self.concurrent)
                )
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
        return self.trip_error


# ------------------------------------------------------------------------------------------------------ wrapping


def with_egress_guard(fn, **options):
    """Wraps a handler ``fn(event, context)``; options as Guard's keyword arguments (each defaults from the same
    environment variable as the Node wrapper). Mode ``off`` returns ``fn`` unchanged."""
    if not callable(fn):
        raise TypeError("with_egress_guard: expected a handler function, got %r" % type(fn).__name__)
    guard = Guard(**options)
    if guard.mode == "off":
        return fn

    def wrapped(event, context):
        global _interruptible
        inv = guard.begin(context)
        if inv is None:
            return fn(event, context)
        try:
            if inv.main_thread:
                _interruptible = inv
            try:
                result = fn(event, context)
            finally:
                if inv.main_thread:
                    _interruptible = None
        except _BudgetInterrupt:
            err = inv.finish("error")
            raise err if err is not None else EgressBudgetExceededError("rxBytes", 0, 0, inv.request_id)
        except BaseException as e:
            err = inv.finish("error")
            if err is not None:
                raise err from e
            raise
        err = inv.finish("ok")
        if err is not None:
            raise err
        return result

    wrapped.__wrapped__ = fn
    wrapped.__name__ = getattr(fn, "__name__", "handler")
    wrapped.__doc__ = getattr(fn, "__doc__", None)
    return wrapped


def load_handler(spec, task_root=None):
    """Imports the function named by a Python handler string as the Python runtime does: the part after the last dot
    is the function, the rest the module (``/`` or ``.`` separated); the task root is put on sys.path."""
    if not spec or not spec.strip():
        raise HandlerLoadError(
            "E_HANDLER_UNSET",
            "EGRESS_GUARD_ORIGINAL_HANDLER is not set: the exec wrapper stores the function handler there; "
            'set it to e.g. "app.handler"',
        )
    if ".." in spec or "." not in spec:
        raise HandlerLoadError("E_HANDLER_MALFORMED", 'handler "%s" is not of the form "module.function"' % spec)
    modname, fname = spec.rsplit(".", 1)
    modname = modname.replace("/", ".")
    if not modname or not fname:
        raise HandlerLoadError("E_HANDLER_MALFORMED", 'handler "%s" is not of the form "module.function"' % spec)
    root = task_root or os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        mod = importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name is not None and (modname == e.name or modname.startswith(e.name + ".")):
            raise HandlerLoadError(
                "E_HANDLER_MODULE_NOT_FOUND", 'handler "%s": no module named %s under %s' % (spec, modname, root)
            ) from e
        raise HandlerLoadError("E_HANDLER_IMPORT", 'handler "%s": importing %s failed: %s' % (spec, modname, e)) from e
    except Exception as e:
        raise HandlerLoadError("E_HANDLER_IMPORT", 'handler "%s": importing %s failed: %s' % (spec, modname, e)) from e
    fn = getattr(mod, fname, None)
    if not callable(fn):
        raise HandlerLoadError(
            "E_HANDLER_NOT_FOUND",
            'handler "%s": %s is %s in module %s'
            % (spec, fname, "not defined" if fn is None else "not a function", modname),
        )
    return fn


def _layer_handler():
    """The layer's entry: the guard first (load snapshot), then the original handler (its init traffic follows)."""
    Guard()
    return with_egress_guard(load_handler(os.environ.get("EGRESS_GUARD_ORIGINAL_HANDLER")))


if os.environ.get("EGRESS_GUARD_ORIGINAL_HANDLER") is not None or os.environ.get("_HANDLER", "").startswith(
    "egress_guard_wrapper."
):
    handler = _layer_handler()
else:

    def handler(event, context):
        raise HandlerLoadError(
            "E_HANDLER_UNSET",
            "egress_guard_wrapper.handler was called but EGRESS_GUARD_ORIGINAL_HANDLER is not set; use "
            "with_egress_guard(fn) to wrap by hand",
        )
