"""A medical organisation's staff on the claims desk of a running `medgate serve --role
claims`, as a browser would: open the one-time link (twice: the second is 410 Gone), sign in
with the default password, change it (forced), upload packages, wait for the control, read
the findings and download the V protocol, parsed with lxml; then each package's MEK tab:
its findings (F014 reason, rule, case, sum withheld) or why MEK did not run.

Usage: mo_desk.py BASE_URL CA_FILE LINK PACKAGE... ; prints one line per step.
"""

import io
import re
import sys
import time
import zipfile

import requests
from lxml import etree

base, ca, link = sys.argv[1], sys.argv[2], sys.argv[3]
packages = sys.argv[4:]
session = requests.Session()
session.verify = ca
# A session's own `verify` loses to REQUESTS_CA_BUNDLE unless the environment is ignored.
session.trust_env = False
# The pages check Origin and Sec-Fetch-Site on every POST, as a browser sends them.
browser = {"Origin": base, "Sec-Fetch-Site": "same-origin"}


def token(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


# The address shows a button; its form (the token, hidden) opens the link.
button = session.get(link)
action = re.search(r'<form class="card" method="post" action="([^"]+)">', button.text).group(1)
hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', button.text))
print(f"link address: {button.status_code}, opens nothing")
first = session.post(f"{base}{action}", data=hidden)
login = re.search(r"<dd><code>([^<]+)</code></dd>", first.text).group(1)
password = re.search(r'<code id="default-password">([^<]+)</code>', first.text).group(1)
print(f"link: {first.status_code}, login {login}, default password shown")
second = session.post(f"{base}{action}", data=hidden)
print(f"link again: {second.status_code} {second.reason}")

page = session.get(f"{base}/claims")
signed = session.post(
    f"{base}/claims",
    data={"csrf": token(page.text), "login": login, "password": password},
    headers=browser,
    allow_redirects=False,
)
print(f"sign-in: {signed.status_code} -> {signed.headers['location']}")
forced = session.get(f"{base}/claims/upload", allow_redirects=False)
print(f"upload tab: {forced.status_code} -> {forced.headers['location']}")
form = session.get(f"{base}/claims/password")
new = "Мой-новый-пароль 2025"
changed = session.post(
    f"{base}/claims/password",
    data={"csrf": token(form.text), "current": password, "new": new, "repeat": new},
    headers=browser,
    allow_redirects=False,
)
print(f"password changed: {changed.status_code} -> {changed.headers['location']}")

for path in packages:
    name = path.rsplit("/", 1)[-1]
    upload_page = session.get(f"{base}/claims/upload")
    with open(path, "rb") as package:
        answer = session.post(
            f"{base}/claims/upload",
            data={"csrf": token(upload_page.text), "period": "2025-01"},
            files={"package": (name, package, "application/zip")},
            headers=browser,
            allow_redirects=False,
        )
    where = answer.headers["location"]
    for _ in range(600):
        status_page = session.get(f"{base}{where}")
        if "Refresh" not in status_page.headers:
            break
        time.sleep(0.1)
    status = re.search(r'<strong class="status-([a-z_]+)">', status_page.text).group(1)
    print(f"{name}: {where} {status}")
    for row in re.findall(r"<tr><td>(9\d\d)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", status_page.text):
        print("  finding: OSHIB {} rule {} IM_POL {} BAS_EL {} N_ZAP {}".format(*row))
    protocol = session.get(f"{base}{where}/protocol")
    archive = zipfile.ZipFile(io.BytesIO(protocol.content))
    for entry in archive.namelist():
        root = etree.fromstring(archive.read(entry))
        errors = root.findall("PR")
        codes = [(pr.findtext("OSHIB"), pr.findtext("IM_POL"), pr.findtext("N_ZAP")) for pr in errors]
        print(f"  protocol {entry}: FNAME_I {root.findtext('FNAME_I')}, {len(errors)} PR {codes}")
    mek = session.get(f"{base}{where}/mek?lang=ru")
    if "не установлен каталог МЭК Q016" in mek.text:
        print("  mek: not run, no MEK catalogue installed")
    elif "Пакет отклонён целиком, МЭК не проводился" in mek.text:
        print("  mek: not run, package refused whole")
    else:
        cell = r"<td[^>]*>([^<]*)</td>"
        for row in re.findall(r"<tr>" + cell * 9 + r"</tr>", mek.text):
            print("  mek: F014 {} {} rule {} {} N_ZAP {} IDCASE {} SL_ID {} withheld {}: {}".format(*row))
        total = re.search(r"Удержано всего: ([^<]*) руб\.", mek.text)
        print(f"  mek total withheld: {total.group(1) if total else '?'}")
