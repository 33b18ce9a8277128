#!/usr/bin/env python3
"""Upload p50 quiet vs during a flood of wrong-password dashboard sign-ins (bench-sign-in.sh runs it).

Usage: bench-sign-in.py BASE_URL API_KEY IMAGE UPLOADS FLOODERS [ADDRESS_HEADER]
Prints one line per phase and the ratio. Not a test: figures depend on the machine.
"""
import html, http.client, json, re, statistics, sys, threading, time, urllib.parse, uuid

base, api_key, image_path, uploads, flooders = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
host = urllib.parse.urlparse(base)
image = open(image_path, "rb").read()


def connect():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=120)


def consent():
    c = connect()
    c.request("POST", "/v1/consents", json.dumps({"subjectId": "bench", "purpose": "bench", "policyVersion": "2026-01"}),
              {"X-Api-Key": api_key, "Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 201, (r.status, body)
    return body["id"]


def upload_p50(consent_id, count):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"consentId\"\r\n\r\n{consent_id}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
        + image + f"\r\n--{boundary}--\r\n".encode()
    headers = {"X-Api-Key": api_key, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    c = connect()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        c.request("POST", "/v1/images", body, headers)
        r = c.getresponse()
        r.read()
        assert r.status == 201, r.status
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


stop = threading.Event()
answers = {}
lock = threading.Lock()


def flood(n):
    c = connect()
    c.request("GET", "/admin/sign-in")
    r = c.getresponse()
    page = r.read().decode()
    cookie = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
    token = re.search(r'name="__RequestVerificationToken" value="([^"]*)"', page).group(1)
    form = urllib.parse.urlencode({"__RequestVerificationToken": html.unescape(token),
                                   "username": "officer", "password": f"wrong-{n}"})
    while not stop.is_set():
        c.request("POST", "/admin/sign-in", form, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        r = c.getresponse()
        r.read()
        with lock:
            answers[r.status] = answers.get(r.status, 0) + 1


consent_id = consent()
upload_p50(consent_id, 20)  # warm-up
quiet = upload_p50(consent_id, uploads)
threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(flooders)]
for t in threads:
    t.start()
time.sleep(2)
flooded = upload_p50(consent_id, uploads)
stop.set()
for t in threads:
    t.join(timeout=130)
quiet_after = upload_p50(consent_id, uploads)
print(f"upload p50 quiet:               {quiet:8.1f} ms")
print(f"upload p50 during {flooders} flooders:  {flooded:8.1f} ms   (sign-in answers: {dict(sorted(answers.items()))})")
print(f"upload p50 quiet again:         {quiet_after:8.1f} ms")
print(f"ratio flood / quiet:            {flooded / ((quiet + quiet_after) / 2):8.2f}")
