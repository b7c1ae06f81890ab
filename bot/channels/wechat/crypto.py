"""WeChat's callback signatures and safe-mode (安全模式) message encryption, from the official account
documentation: signature = SHA-1 of the sorted, concatenated token, timestamp and nonce (and, for an
encrypted body, the ciphertext); the body is AES-256-CBC with the key Base64-decoded from the 43-character
EncodingAESKey plus "=", the IV its first 16 bytes, PKCS#7 padding to 32-byte blocks, and the plaintext
laid out as 16 random bytes, the message length (4 bytes, network order), the message, the AppID.

The AES itself is the ``cryptography`` package's; only this framing is ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_BITS = 256  # WeChat pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """The body could not be decrypted, or was not meant for this account."""


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(given: str, *parts: str) -> bool:
    return hmac.compare_digest(given.encode(), signature(*parts).encode())


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("EncodingAESKey is not Base64") from exc
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def decrypt(key: bytes, ciphertext_b64: str, app_id: str) -> bytes:
    """The plaintext XML of an encrypted callback; CryptoError unless it decrypts and names our AppID."""
    try:
        data = base64.b64decode(ciphertext_b64, validate=True)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("cannot decrypt") from exc
    if len(plain) < 20:
        raise CryptoError("too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, owner = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length or not hmac.compare_digest(owner, app_id.encode()):
        raise CryptoError("not for this account")
    return message
