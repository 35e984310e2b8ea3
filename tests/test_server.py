"""The web page and the JSON API: every bad request through FastAPI's TestClient, the page in a
real headless Chromium (Debian's chromium and chromium-driver, which .ci/run installs), and a
bounded load test on loopback."""

import io
import os
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
import pillow_heif
from PIL import Image, ImageDraw

from conftest import REPO_DIR
from mnist_cnn.inference import load_model
from mnist_cnn.server import create_app

MODEL = REPO_DIR / "output_improved" / "model.onnx"


@pytest.fixture(scope="module")
def app():
    return create_app(load_model(MODEL), max_upload_bytes=2 * 1024 * 1024)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def seven(mnist) -> bytes:
    """MNIST's first test digit (a 7) as dark ink on white paper."""
    digit = Image.fromarray(255 - mnist.test_images[0].numpy()).resize((140, 140), Image.Resampling.BICUBIC)
    return png(digit)


def test_health_docs_and_page(client):
    assert client.get("/health").json() == {"status": "ok", "model": "improved_cnn"}
    assert client.get("/docs").status_code == 200 and "/predict" in client.get("/openapi.json").text
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", ""), "nothing from a CDN: the page works offline"
    assert client.get("/static/app.js").status_code == 200


def test_predict_answers_what_the_cli_json_gives(client, seven):
    response = client.post("/predict", files={"file": ("seven.png", seven, "image/png")})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["prediction"] == "7" and answer["file"] == "seven.png" and not answer["unsure"]
    assert set(answer) == {"file", "prediction", "confidence", "unsure", "digits", "error"}
    seen = client.post("/predict?seen=true&single=true", files={"file": ("seven.png", seven, "image/png")}).json()
    assert np.array(seen["seen"]).shape == (1, 28, 28)


@pytest.mark.parametrize("files, params, status, message", [
    ({"file": ("notes.txt", b"hello, not a picture", "image/png")}, {}, 400, "not an image PIL can read"),
    ({"file": ("scan.pdf", b"%PDF-1.7\n%%EOF\n", "image/png")}, {}, 400, "a PDF document, not a picture"),
    ({"file": ("empty.png", b"", "image/png")}, {}, 400, "the file is empty"),
    ({"file": ("big.png", b"\x89PNG" + b"\x00" * (3 * 1024 * 1024), "image/png")}, {}, 413, "over the 2 MB limit"),
    ({"file": ("page.html", b"<html></html>", "text/html")}, {}, 415, "is not an image"),
    ({"file": ("blank.png", png(Image.new("L", (100, 100), 255)), "image/png")}, {}, 422, "no digit found"),
    ({"wrong_field": ("x.png", b"x", "image/png")}, {}, 422, "file"),
    ({"file": ("seven.png", b"x", "image/png")}, {"min_confidence": "2"}, 422, "min_confidence"),
], ids=["not-an-image", "pdf", "empty", "too-large", "wrong-type", "blank", "no-file-field", "bad-parameter"])
def test_bad_requests_get_a_4xx_with_a_json_error_and_the_server_goes_on(client, seven, files, params, status,
                                                                        message):
    response = client.post("/predict", files=files, params=params)
    assert response.status_code == status and message in str(response.json()["detail"])
    assert client.post("/predict", files={"file": ("seven.png", seven, "image/png")}).json()["prediction"] == "7"


def test_a_decompression_bomb_is_refused(client):
    # 9000x9000 pixels of one colour: a few KB as a PNG, 81 megapixels once decoded.
    bomb = png(Image.new("L", (9000, 9000), 255))
    assert len(bomb) < 200_000
    response = client.post("/predict", files={"file": ("bomb.png", bomb, "image/png")})
    assert response.status_code == 400 and "decompression bomb" in response.json()["detail"]


def test_a_body_that_is_not_a_form_is_refused(client):
    response = client.post("/predict", content=b"\x89PNG", headers={"content-type": "image/png"})
    assert response.status_code == 422 and response.json()["detail"]


@pytest.fixture(scope="module")
def live_server(app):
    """The app on a free loopback port, served by uvicorn in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_load_200_requests_from_8_threads_without_an_error(live_server, seven):
    def one(_):
        started = time.perf_counter()
        response = httpx.post(f"{live_server}/predict", files={"file": ("seven.png", seven, "image/png")}, timeout=60)
        return response.status_code, response.json().get("prediction"), time.perf_counter() - started

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(200)))
    assert all(status == 200 and prediction == "7" for status, prediction, _ in results)
    latencies = np.array([seconds for _, _, seconds in results]) * 1000
    print(f"200 requests, 8 threads: p50 {np.percentile(latencies, 50):.0f} ms, "
          f"p99 {np.percentile(latencies, 99):.0f} ms")


CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(CHROMEDRIVER is None and not os.environ.get("CI"),
                    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
def test_the_page_in_a_real_browser_reads_a_digit_drawn_with_the_mouse(live_server, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=800,900"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or ""
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.get(live_server)
        pad = driver.find_element(By.ID, "pad")
        answer = driver.find_element(By.ID, "answer")
        assert answer.text == "Draw something."
        # A 7: a bar along the top, then a stroke down to the left, on the left half of the pad.
        width, height = pad.size["width"], pad.size["height"]
        x0, y0 = -width // 2 + width // 8, -height // 2 + height // 6  # offsets from the pad's centre
        stroke = [(width // 5, 0), (-width // 10, height // 4), (-width // 20, height // 3)]

        def draw_seven():
            actions = ActionChains(driver).move_to_element_with_offset(pad, x0, y0).click_and_hold()
            for dx, dy in stroke:
                for _ in range(5):  # several small moves, as a hand makes
                    actions.move_by_offset(dx // 5, dy // 5)
            actions.release().perform()

        draw_seven()
        WebDriverWait(driver, 20).until(lambda _: answer.text not in ("", "Draw something."))
        WebDriverWait(driver, 20).until(lambda _: driver.execute_script("return !inFlight && !pending"))
        assert answer.text == "7", answer.text
        assert len(driver.find_elements(By.CSS_SELECTOR, "#seen canvas")) == 1
        bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
        assert len(bars) == 11 and bars[-1].text.startswith("none")  # the ten digits, then "no digit"
        driver.save_screenshot(str(os.environ.get("SCREENSHOT_TO", tmp_path / "page.png")))
        driver.find_element(By.ID, "clear").click()
        assert answer.text == "Draw something."
        # Opened files go to the server as they are. A HEIC photo, which Chromium cannot show, is read
        # all the same, and the pad is blanked rather than left showing the 7 drawn before.
        photo = Image.new("RGB", (300, 400), "white")
        ImageDraw.Draw(photo).line([(150, 60), (150, 340)], fill="black", width=18)  # a 1
        pillow_heif.from_pillow(photo).save(tmp_path / "one.heic", quality=90)
        draw_seven()
        WebDriverWait(driver, 20).until(lambda _: answer.text == "7")
        WebDriverWait(driver, 20).until(lambda _: driver.execute_script("return !inFlight && !pending"))
        driver.find_element(By.ID, "file").send_keys(str(tmp_path / "one.heic"))
        WebDriverWait(driver, 20).until(lambda _: answer.text == "1")
        blank = driver.execute_script(
            "const d = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;"
            "return d.every(v => v === 255);")
        assert blank, "the drawing before the HEIC photo was left on the pad"
    finally:
        driver.quit()
