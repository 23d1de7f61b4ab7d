"""Schemathesis hooks for medgate's APIs (used by the `schemathesis` end-to-end test).

Every request is signed as a clinic system signs it: RFC 9421 HTTP Message Signatures by
the account's WSS key over `@method`, `@target-uri` and `content-digest` (RFC 9530), with
the independent `requests-http-signature` package, as `python_client.rs` does. The TLS
client certificate is schemathesis' own `--request-cert`/`--request-cert-key`.

Generated values that no schema can make valid are replaced by real ones, so that valid
requests reach the handlers: the `medgate-tenant` header names the caller's own account,
a search's `from` comes before its `to`, and every other generated document, consent and
FHIR id of a read becomes an id that exists. Nothing else is changed: a failure schemathesis reports is
the server's or the OpenAPI document's.

Configuration (environment):
  MEDGATE_ST_WSS_KEY       the WSS private key (PEM, PKCS#8, encrypted or not)
  MEDGATE_ST_PASSWORD_FILE the key's password file (absent: the key is not encrypted)
  MEDGATE_ST_KEY_ID        the WSS certificate's serial (upper-case hex), the signature's keyid
  MEDGATE_ST_TENANT        the account id, sent as `medgate-tenant`
  MEDGATE_ST_KNOWN         JSON {"<path>:<parameter>": ["existing value", ...]}: path
                           parameters of reads that may be replaced by these, and that
                           writes must not name; {"<path>?<parameter>": [...]}: the same
                           for query parameters of reads
"""

import itertools
import json
import os
import urllib.parse

import schemathesis
from cryptography.hazmat.primitives import serialization
from requests_http_signature import HTTPSignatureAuth, algorithms


def _signing_key():
    with open(os.environ["MEDGATE_ST_WSS_KEY"], "rb") as fh:
        pem = fh.read()
    password = None
    password_file = os.environ.get("MEDGATE_ST_PASSWORD_FILE")
    if password_file:
        with open(password_file, "rb") as fh:
            password = fh.read().rstrip(b"\r\n")
    key = serialization.load_pem_private_key(pem, password=password)
    # Kept in memory only: requests-http-signature takes PEM bytes.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


_KEY = _signing_key()
_KEY_ID = os.environ["MEDGATE_ST_KEY_ID"]
_TENANT = os.environ["MEDGATE_ST_TENANT"]
_KNOWN = json.loads(os.environ.get("MEDGATE_ST_KNOWN", "{}"))
_PROTECTED = {value for key, values in _KNOWN.items() if "?" not in key for value in values}


def _auth():
    return HTTPSignatureAuth(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key=_KEY,
        key_id=_KEY_ID,
        covered_component_ids=("@method", "@target-uri", "content-digest"),
    )


_CALLS = itertools.count()


def _pick(value, choices):
    """Every other read names something that exists, in turn; the others keep the generated
    value (mostly a 404). By call order, as a generator repeats some values many times."""
    number = next(_CALLS)
    if not choices or number % 2:
        return value
    return choices[(number // 2) % len(choices)]


_SIGNATURE_HEADERS = {"signature", "signature-input", "content-digest"}


@schemathesis.hook
def before_call(context, case, kwargs):
    """Runs in every phase, just before the request is sent."""
    operation = case.operation
    if case.headers:
        # The document declares the signature headers as required parameters; what was
        # generated for them gives way to a real signature over the request as sent.
        for name in [n for n in case.headers if n.lower() in _SIGNATURE_HEADERS]:
            del case.headers[name]
        # An account id, but the caller's own: another one is refused by design (400).
        for name in [n for n in case.headers if n.lower() == "medgate-tenant"]:
            value = case.headers[name]
            if isinstance(value, str) and len(value) == 16 and value.isdigit():
                case.headers[name] = _TENANT
    # Reads of existing things. Writes never touch the seeded data (schemathesis reuses ids
    # it saw in answers): a seeded id in a write's path becomes one that names nothing.
    if case.path_parameters:
        for name, value in list(case.path_parameters.items()):
            if operation.method.upper() == "GET":
                known = _KNOWN.get(f"{operation.path}:{name}") or []
                case.path_parameters[name] = _pick(value, known)
            elif isinstance(value, str) and urllib.parse.unquote(value) in _PROTECTED:
                # (Ids reused from answers may come percent-encoded.)
                value = urllib.parse.unquote(value)
                case.path_parameters[name] = value[:-1] + ("1" if value.endswith("0") else "0")
    # Searches for a patient that has something to find, now and then.
    if isinstance(case.query, dict) and operation.method.upper() == "GET":
        for name, value in list(case.query.items()):
            known = _KNOWN.get(f"{operation.path}?{name}") or []
            if known and isinstance(value, str):
                case.query[name] = _pick(value, known)
    # A search from one day to an earlier one is refused by design (400 `bad_parameter`); a
    # JSON Schema cannot relate two parameters, so such a pair is put in order.
    query = case.query
    if operation.path == "/api/v1/documents" and isinstance(query, dict):
        start, end = query.get("from"), query.get("to")
        if isinstance(start, str) and isinstance(end, str) and start.strip() > end.strip():
            query["from"], query["to"] = end, start
    kwargs["auth"] = _auth()
