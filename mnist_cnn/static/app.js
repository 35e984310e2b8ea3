// The drawing pad: strokes as the MNIST images were written (dark pen on white), sent to
// POST /predict as a PNG while drawing (at most one request in flight) and when a stroke ends.
"use strict";
const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const answer = document.getElementById("answer");
const seen = document.getElementById("seen");
const bars = document.getElementById("bars");
let drawing = false, last = null, inFlight = false, pending = false, drawn = false;

function blankPad() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
  drawn = false;
}

function clearPad() {
  blankPad();
  answer.textContent = "Draw something.";
  answer.className = "answer";
  seen.replaceChildren();
  bars.replaceChildren();
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  last = point(event);
  pad.setPointerCapture(event.pointerId);
  stroke(last);
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const next = point(event);
  stroke(next);
  last = next;
  send();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => { if (drawing) { drawing = false; send(); } });
}

function stroke(to) {
  context.strokeStyle = "#111";
  context.lineWidth = 18;
  context.lineCap = context.lineJoin = "round";
  context.beginPath();
  context.moveTo(last[0], last[1]);
  context.lineTo(to[0] + 0.01, to[1]);
  context.stroke();
  drawn = true;
}

function send() {
  if (!drawn) return;
  if (inFlight) { pending = true; return; }
  inFlight = true;
  pad.toBlob((blob) => post(blob, "drawing.png"), "image/png");
}

async function post(blob, name) {
  const form = new FormData();
  form.append("file", blob, name);
  try {
    const response = await fetch("/predict?seen=true", { method: "POST", body: form });
    show(await response.json(), response.ok);
  } catch (error) {
    show({ detail: String(error) }, false);
  } finally {
    inFlight = false;
    if (pending) { pending = false; send(); }
  }
}

function show(result, ok) {
  seen.replaceChildren();
  bars.replaceChildren();
  if (!ok) {
    answer.textContent = typeof result.detail === "string" ? result.detail.replace(/^[^:]*: /, "") : "error";
    answer.className = "answer error";
    return;
  }
  const read = result.digits.map((d) => (d.unsure ? "?" : String(d.prediction))).join("");
  answer.textContent = result.unsure ? `unsure: ${read}` : read;
  answer.className = result.unsure ? "answer unsure" : "answer";
  (result.seen || []).forEach((image) => seen.append(picture(image)));
  result.digits.forEach((digit, index) => bars.append(probabilityBars(digit, index, result.digits.length)));
}

function picture(image) {  // a 28x28 of floats in [0, 1], white ink on black
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  const pixels = canvas.getContext("2d").createImageData(28, 28);
  image.flat().forEach((value, i) => {
    pixels.data.set([value * 255, value * 255, value * 255, 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(pixels, 0, 0);
  return canvas;
}

function probabilityBars(digit, index, count) {
  const block = document.createElement("div");
  block.className = "digit";
  const title = document.createElement("h2");
  const label = count > 1 ? `digit ${index + 1}: ` : "";
  title.textContent = label + (digit.unsure ? `unsure (${(100 * digit.confidence).toFixed(1)}% at most)`
                                            : `${digit.prediction} (${(100 * digit.confidence).toFixed(1)}%)`);
  block.append(title);
  const top = digit.probabilities.indexOf(Math.max(...digit.probabilities));
  // The ten digits, then "none": the share the model gives to "no digit here".
  [...digit.probabilities, digit.no_digit ?? 0].forEach((p, d) => {
    const row = document.createElement("div");
    row.className = d === top ? "bar top" : "bar";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    const name = document.createElement("span"), value = document.createElement("span");
    name.textContent = d < 10 ? d : "none";
    value.textContent = `${(100 * p).toFixed(1)}%`;
    const track = document.createElement("div");
    track.append(fill);
    row.append(name, track, value);
    block.append(row);
  });
  return block;
}

// Dropped or opened image files go to the same endpoint as they are.
pad.addEventListener("dragover", (event) => { event.preventDefault(); pad.classList.add("dropping"); });
pad.addEventListener("dragleave", () => pad.classList.remove("dropping"));
pad.addEventListener("drop", (event) => {
  event.preventDefault();
  pad.classList.remove("dropping");
  const file = event.dataTransfer.files[0];
  if (file) upload(file);
});
document.getElementById("file").addEventListener("change", (event) => {
  if (event.target.files[0]) upload(event.target.files[0]);
});

function upload(file) {
  const image = new Image();
  image.onload = () => {  // shown on the pad, fitted, so that one sees what was read
    clearPad();
    const scale = Math.min(pad.width / image.width, pad.height / image.height);
    context.drawImage(image, (pad.width - image.width * scale) / 2, (pad.height - image.height * scale) / 2,
                      image.width * scale, image.height * scale);
    URL.revokeObjectURL(image.src);
  };
  image.onerror = () => {  // a format this browser cannot show (HEIC outside Safari): the server still reads it
    blankPad();  // the answer is the file's, so the drawing before it must not stay
    URL.revokeObjectURL(image.src);
  };
  image.src = URL.createObjectURL(file);
  inFlight = true;
  post(file, file.name);
}

document.getElementById("clear").addEventListener("click", clearPad);
clearPad();
