"""A medical organisation and its insurer on the claims desk of a running `medgate serve
--role claims`, as browsers would, from packages to a signed register: four logins open their
one-time links and replace their default passwords (executor, chief accountant, head, the
insurer's reviewer); the executor uploads packages and forms the register; the workflow (the
accountant may not send; the executor sends; the reviewer returns it for rework — not
without a comment — then, sent again, passes it for signature); the three certificates
uploaded under «Электронная подпись»; the register's bytes downloaded and signed on "the
signer's machine" with `medgate claims sign`; out-of-order, other-certificate, other-bytes
and wrong-user signatures refused; the three in order; the signed package and the PDFs
downloaded into the work folder.

Usage: claims_registers_desk.py BASE CA MEDGATE WORK LINK_1 LINK_2 LINK_3 LINK_REVIEWER PACKAGE...
WORK holds executor/accountant/head/other .key and .cer. Prints one line per step.
"""

import os
import re
import subprocess
import sys
import time

import requests

base, ca, medgate, work = sys.argv[1:5]
links = dict(zip(["executor", "accountant", "head", "reviewer"], sys.argv[5:9]))
packages = sys.argv[9:]
browser = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
NEW = "Мой-новый-пароль 2025"


def token(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def alert(html):
    found = re.search(r'role="alert">([^<]*)<', html)
    return found.group(1) if found else ""


def state(html):
    return re.search(r'id="register-state">([^<]+)<', html).group(1)


def signed_in(link):
    session = requests.Session()
    session.verify = ca
    session.trust_env = False
    # The link's address shows a button; its form (the token, hidden) opens it.
    button = session.get(link)
    action = re.search(r'<form class="card" method="post" action="([^"]+)">', button.text).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', button.text))
    opened = session.post(f"{base}{action}", data=hidden)
    login = re.search(r"<dd><code>([^<]+)</code></dd>", opened.text).group(1)
    password = re.search(r'<code id="default-password">([^<]+)</code>', opened.text).group(1)
    page = session.get(f"{base}/claims")
    session.post(f"{base}/claims", data={"csrf": token(page.text), "login": login, "password": password},
                 headers=browser, allow_redirects=False)
    form = session.get(f"{base}/claims/password")
    changed = session.post(f"{base}/claims/password",
                           data={"csrf": token(form.text), "current": password, "new": NEW, "repeat": NEW},
                           headers=browser, allow_redirects=False)
    print(f"{login}: link opened, password changed: {changed.status_code} -> {changed.headers['location']}")
    return session


users = {who: signed_in(link) for who, link in links.items()}
executor, accountant, head, reviewer = (users[w] for w in ["executor", "accountant", "head", "reviewer"])

for path in packages:
    name = os.path.basename(path)
    page = executor.get(f"{base}/claims/upload")
    with open(path, "rb") as package:
        answer = executor.post(f"{base}/claims/upload", data={"csrf": token(page.text), "period": "2025-01"},
                               files={"package": (name, package, "application/zip")},
                               headers=browser, allow_redirects=False)
    where = answer.headers["location"]
    for _ in range(600):
        status_page = executor.get(f"{base}{where}")
        if "Refresh" not in status_page.headers:
            break
        time.sleep(0.1)
    status = re.search(r'<strong class="status-([a-z_]+)">', status_page.text).group(1)
    print(f"{name}: {status}")

page = executor.get(f"{base}/claims/forming")
formed = executor.post(f"{base}/claims/forming", data={"csrf": token(page.text), "period": "2025-01"},
                       headers=browser, allow_redirects=False)
print(f"form: {formed.status_code} -> {formed.headers['location']}")
listing = executor.get(f"{base}/claims/registers").text
register_id, register_name = re.search(r'<a href="/claims/registers/(\d+)">([^<]+)</a>', listing).groups()
print(f"register {register_name}: {state(executor.get(f'{base}/claims/registers/{register_id}').text)}")
path = f"{base}/claims/registers/{register_id}"


def act(session, action, comment=""):
    page = session.get(path)
    answer = session.post(f"{path}/act", data={"csrf": token(page.text), "action": action, "comment": comment},
                          headers=browser, allow_redirects=False)
    if answer.status_code == 303:
        return f"303 {state(session.get(path).text)}"
    return f"{answer.status_code} {alert(answer.text)}"


print("reviewer sees the draft:", reviewer.get(path).status_code)
print("accountant sends:", act(accountant, "send"))
print("executor sends:", act(executor, "send"))
print("reviewer returns without a comment:", act(reviewer, "return_for_rework", " "))
print("reviewer returns:", act(reviewer, "return_for_rework", "Проверьте диагнозы в случаях 3 и 5"))
print("executor sends again:", act(executor, "send"))
print("reviewer passes for signature:", act(reviewer, "accept_for_signature"))

for who, session in [("executor", executor), ("accountant", accountant), ("head", head)]:
    page = session.get(f"{base}/claims/admin/signature")
    with open(os.path.join(work, f"{who}.cer"), "rb") as cer:
        answer = session.post(f"{base}/claims/admin/signature", data={"csrf": token(page.text)},
                              files={"certificate": (f"{who}.cer", cer, "application/pkix-cert")}, headers=browser)
    message = re.search(r'role="status">([^<]*)<', answer.text)
    print(f"certificate of {who}: {answer.status_code} {message.group(1) if message else alert(answer.text)}")

# The signer's machine: the register's bytes downloaded, signed with `medgate claims sign`.
machine = os.path.join(work, "machine")
os.makedirs(machine, exist_ok=True)
content = executor.get(f"{path}/file").content
register_file = os.path.join(machine, register_name)
with open(register_file, "wb") as out:
    out.write(content)
other_dir = os.path.join(machine, "other")
os.makedirs(other_dir, exist_ok=True)
with open(os.path.join(other_dir, register_name), "wb") as out:
    out.write(content[:-1] + bytes([content[-1] ^ 1]))


def sign(who, register=register_file, tag="first"):
    out = os.path.join(machine, f"{who}-{os.path.basename(os.path.dirname(register))}-{tag}.sig")
    subprocess.run([medgate, "claims", "sign", "--register", register, "--key", os.path.join(work, f"{who}.key"),
                    "--cert", os.path.join(work, f"{who}.cer"), "--out", out], check=True, capture_output=True)
    with open(out, "rb") as sig:
        return sig.read()


def upload(session, signature):
    page = session.get(path)
    answer = session.post(f"{path}/signature", data={"csrf": token(page.text)},
                          files={"signature": ("register.sig", signature, "application/pkcs7-signature")},
                          headers=browser)
    if answer.status_code == 200:
        return f"200 {re.search(r'role=.status.>([^<]*)<', answer.text).group(1)}"
    return f"{answer.status_code} {alert(answer.text)}"


signatures = {who: sign(who) for who in ["executor", "accountant", "head", "other"]}
print("head signs first:", upload(head, signatures["head"]))
print("executor with another certificate:", upload(executor, signatures["other"]))
print("executor over other bytes:", upload(executor, sign("executor", os.path.join(other_dir, register_name))))
print("executor signs:", upload(executor, signatures["executor"]))
print("accountant with the executor's certificate:", upload(accountant, signatures["executor"]))
print("accountant signs:", upload(accountant, sign("accountant", tag="again")))
# Signed anew: a signature made before the one it follows is refused.
print("head signs:", upload(head, sign("head", tag="again")))
print(f"register {register_name}: {state(executor.get(path).text)}")

signed = reviewer.get(f"{path}/signed.zip")
with open(os.path.join(work, "signed.zip"), "wb") as out:
    out.write(signed.content)
print(f"signed package: {signed.status_code} {signed.headers['content-type']}")
for document in ["invoice", "summary", "register", "mek-act"]:
    page = executor.get(f"{path}/documents/{document}")
    pdf = executor.get(f"{path}/documents/{document}.pdf")
    with open(os.path.join(work, f"{document}.pdf"), "wb") as out:
        out.write(pdf.content)
    print(f"document {document}: page {page.status_code}, pdf {pdf.status_code} {pdf.headers['content-type']}")
