"""The baseline: a bare FastAPI JSON endpoint, served exactly like voc."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    token: str
    answers: list[dict]


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@app.post("/echo", status_code=201)
def echo(body: Body) -> dict:
    return {"id": 1, "status": "completed"}
