"""An MO's information system that knows nothing of medgate: Python requests with the
certificate the fund issued (read from its PKCS#12 by cryptography) and
requests-http-signature signing the push. Phase "push": push a package, poll its status
until the control concludes, pull its findings and protocol, ask for another MO's package
and call without a certificate. Phase "revoked": one call after the certificate's
revocation. Prints what it saw as JSON."""
import json, os, sys, time, urllib.parse
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from requests_http_signature import HTTPSignatureAuth, algorithms

a = json.load(sys.stdin)
key, cert, _ = pkcs12.load_key_and_certificates(open(a["p12"], "rb").read(), a["code"].encode())
folder = os.path.dirname(a["p12"])
cert_file = os.path.join(folder, "python-cert.pem")
key_file = os.path.join(folder, "python-key.pem")
open(cert_file, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
open(key_file, "wb").write(key_pem)
serial = format(cert.serial_number, "X")
api = a["url"] + "/api/v1/packages"
tls = dict(cert=(cert_file, key_file), verify=a["ca"])
seen = {}

if a["phase"] == "push":
    body = open(a["package"], "rb").read()
    name = os.path.basename(a["package"])
    auth = HTTPSignatureAuth(signature_algorithm=algorithms.ECDSA_P256_SHA256, key=key_pem, key_id=serial,
                             covered_component_ids=("@method", "@target-uri", "content-digest"))
    query = urllib.parse.urlencode({"period": "2025-01", "file_name": name})
    pushed = requests.post(api + "?" + query, data=body, headers={"Content-Type": "application/zip"}, auth=auth, **tls)
    assert pushed.status_code == 202, (pushed.status_code, pushed.text)
    package = pushed.json()
    location = pushed.headers["location"]
    polls = 0
    while package["status"] == "checking":
        time.sleep(0.2)
        polls += 1
        package = requests.get(a["url"] + location, **tls).json()
    findings = requests.get(a["url"] + package["links"]["findings"], **tls)
    protocol = requests.get(a["url"] + package["links"]["protocol"], **tls)
    other = requests.get(api + "/" + str(a["other_id"]), **tls)
    anonymous = requests.get(api, verify=a["ca"])
    unsigned = requests.post(api + "?" + query, data=body, headers={"Content-Type": "application/zip"}, **tls)
    seen = {
        "package": package,
        "findings": findings.json(),
        "protocol_type": protocol.headers.get("content-type"),
        "protocol_is_zip": protocol.content[:2] == b"PK",
        "other": [other.status_code, other.json()],
        "anonymous": [anonymous.status_code, anonymous.json()],
        "unsigned": [unsigned.status_code, unsigned.json()],
    }
else:
    # Refused by the API (403) or, once the node's revocations were refreshed, already at
    # the TLS handshake.
    try:
        listed = requests.get(api, **tls)
        seen = {"revoked": [listed.status_code, listed.json()]}
    except requests.exceptions.SSLError as error:
        seen = {"revoked": ["tls", str(error)]}
print(json.dumps(seen))
