"""What the interop tests share: a free port, one `orchard serve` child with
its output in a file, and a dev/ made by scripts/dev_setup.sh."""

import os
import re
import signal
import socket
import subprocess
import time

START_WAIT_S = 15
STOP_WAIT_S = 5      # a graceful stop's bound


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `orchard serve` child with its output collected in a file."""

    def __init__(self, orchard, config, env, log_path, extra=()):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([orchard, "serve", "--config", config, *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_listening(self):
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with open(self.log_path, "rb") as f:
                if re.search(rb"listening on http", f.read()):
                    return True
            time.sleep(0.05)
        return False

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log.close()


def dev_setup(script, orchard, dev):
    """Run scripts/dev_setup.sh into `dev`; returns the config's path."""
    subprocess.run(["sh", script, orchard, dev], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(dev, "orchard.yml")


def run_scenarios(env, scenarios, box):
    """Run (name, fn) pairs in order, each fn(env); print PASS/FAIL lines and,
    on a failure, the traceback and the tail of the server in box[0].
    Returns (passed, failed)."""
    import sys
    import traceback
    passed = failed = 0
    for name, fn in scenarios:
        try:
            fn(env)
            passed += 1
            print("PASS " + name)
        except Exception:
            failed += 1
            print("FAIL " + name)
            traceback.print_exc(file=sys.stdout)
            if box[0]:
                print("--- serve output (tail) ---\n" + box[0].output()[-3000:])
    return passed, failed
