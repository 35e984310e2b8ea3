"""A local web page to draw or drop digits on, and the JSON API behind it (FastAPI).

    python predict_custom.py --serve            # http://127.0.0.1:8000/, API docs at /docs

`POST /predict` takes an image file (multipart form field `file`) and answers what
`predict_custom.py --json` prints for one file; `GET /health` says the server is up and which
model it runs. The page (static/, plain HTML, JavaScript and CSS from this folder, nothing from a
CDN) posts the drawing as a PNG while you draw. Bad requests get a 4xx with a JSON `detail`, and
the server goes on serving.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from fastapi import FastAPI, File, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .inference import OnnxModel, read_picture

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_UPLOAD_BYTES = 32 * 1024 * 1024  # room for a phone's high-resolution JPEG; anything larger is refused unread


def create_app(model: OnnxModel, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> FastAPI:
    app = FastAPI(title="MNIST digit reader",
                  description="Reads handwritten digits and numbers in images with the model in `model.onnx`.")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": model.architecture}

    @app.post("/predict")
    def predict(file: UploadFile = File(..., description="an image: PNG, JPEG, BMP, GIF, TIFF or WebP"),
                single: bool = Query(False, description="take all the ink as one digit"),
                seen: bool = Query(False, description="add the 28x28 images the model saw, per digit"),
                min_confidence: float | None = Query(None, ge=0, le=1,
                                                     description="below it a digit is unsure (default: the model's)"),
                ) -> dict:
        if file.content_type and not (file.content_type.startswith("image/")
                                      or file.content_type == "application/octet-stream"):
            raise HTTPException(415, f"{file.filename}: content type {file.content_type!r} is not an image")
        data = file.file.read(max_upload_bytes + 1)
        if not data:
            raise HTTPException(400, f"{file.filename}: the file is empty")
        if len(data) > max_upload_bytes:
            raise HTTPException(413, f"{file.filename}: over the {max_upload_bytes // 1024 // 1024} MB limit")
        shown: dict = {}
        # A def endpoint: FastAPI runs it in a worker thread, so one slow picture does not block the others.
        result = read_picture(model, io.BytesIO(data), file.filename or "upload", min_confidence, single, shown)
        if result.error:
            status = 422 if result.error.startswith("no digit found") else 400
            raise HTTPException(status, f"{result.file}: {result.error}")
        answer = dataclasses.asdict(result)
        if seen:
            answer["seen"] = [image.round(3).tolist() for image in shown["mnist"]]
        return answer

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve(model: OnnxModel, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn  # only when serving

    print(f"serving {model.architecture} on http://{host}:{port}/ (API docs: /docs); Ctrl-C stops")
    uvicorn.run(create_app(model), host=host, port=port, log_level="warning")

