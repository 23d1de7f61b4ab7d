# Upload a CDA document to a medgate repository from Python: mutual TLS with the account's
# TLS certificate, the request signed (RFC 9421) with its WSS key. Keys must be unencrypted
# PEM (`openssl pkey -in certs/wss.key -out wss-plain.key`).
# Usage: python3 signed_client.py URL TENANT TLS_CERT TLS_KEY WSS_KEY WSS_SERIAL CA FILE
import sys
import requests
from requests_http_signature import HTTPSignatureAuth, algorithms

url, tenant, tls_cert, tls_key, wss_key, serial, ca, path = sys.argv[1:9]
auth = HTTPSignatureAuth(
    signature_algorithm=algorithms.ECDSA_P256_SHA256,  # RSA keys: algorithms.RSA_PSS_SHA512
    key=open(wss_key, "rb").read(),
    key_id=serial,  # the WSS certificate's serial number, hex
    covered_component_ids=("@method", "@target-uri", "content-digest"),
)
answer = requests.post(url + "/api/v1/documents", data=open(path, "rb").read(), auth=auth,
                       headers={"Content-Type": "application/xml", "medgate-tenant": tenant},
                       cert=(tls_cert, tls_key), verify=ca)
print(answer.status_code, answer.json())
