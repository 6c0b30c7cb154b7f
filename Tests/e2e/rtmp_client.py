"""A hand-made RTMP publisher for tests that need to send what no encoder sends: odd metadata, half messages."""
import socket
import struct


class EcmaArray(dict):
    """An AMF0 ECMA array (what encoders send as onMetaData)."""


def amf0(value):
    """AMF0 encoding of str, None, bool, numbers, dicts (objects) and EcmaArrays."""
    if isinstance(value, str):
        data = value.encode()
        return b"\x02" + struct.pack(">H", len(data)) + data
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + bytes([value])
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, dict):
        out = b"\x08" + struct.pack(">I", len(value)) if isinstance(value, EcmaArray) else b"\x03"
        for key, item in value.items():
            name = key.encode()
            out += struct.pack(">H", len(name)) + name + amf0(item)
        return out + b"\x00\x00\x09"
    raise TypeError(value)


def chunks(csid, type_id, stream_id, payload, chunk_size=128):
    """One message as a type-0 chunk and type-3 continuations (RTMP §5.3.1)."""
    parts = [bytes([csid]) + b"\x00\x00\x00" + len(payload).to_bytes(3, "big") + bytes([type_id]) + struct.pack("<I", stream_id)]
    continuation = bytes([0xC0 | csid])
    for start in range(0, max(len(payload), 1), chunk_size):
        if start:
            parts.append(continuation)
        parts.append(payload[start:start + chunk_size])
    return b"".join(parts)


class Publisher:
    """Connects, shakes hands and speaks just enough RTMP to publish."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(b"\x03" + bytes(1536))
        self.read_exactly(1 + 1536 + 1536)
        self.sock.sendall(bytes(1536))
        self.received = b""

    def read_exactly(self, n):
        data = b""
        while len(data) < n:
            part = self.sock.recv(n - len(data))
            if not part:
                raise ConnectionError("closed during the handshake")
            data += part
        return data

    def command(self, *values, stream=0):
        self.sock.sendall(chunks(3, 20, stream, b"".join(amf0(v) for v in values)))

    def connect(self, app="live"):
        self.command("connect", 1, {"app": app, "type": "nonprivate"})

    def publish(self, key):
        """connect, createStream, publish; returns once the server says NetStream.Publish.Start (or raises)."""
        self.connect()
        self.command("createStream", 2, None)
        self.command("publish", 3, None, key, "live", stream=1)
        while b"NetStream.Publish.Start" not in self.received:
            part = self.sock.recv(65536)
            if not part:
                raise ConnectionError("closed before publishing started")
            self.received += part
            if b"NetStream.Publish.BadName" in self.received:
                raise ConnectionError("key refused")

    def metadata(self, values):
        self.sock.sendall(chunks(4, 18, 1, amf0("@setDataFrame") + amf0("onMetaData") + amf0(EcmaArray(values))))

    def is_closed(self, wait):
        """Waits up to `wait` seconds for the server to close the connection."""
        self.sock.settimeout(wait)
        try:
            while True:
                part = self.sock.recv(65536)
                if not part:
                    return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()
