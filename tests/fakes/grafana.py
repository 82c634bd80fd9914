"""A fake Grafana: the HTTP API endpoints CHOM calls, with their documented shapes.

`GET /api/health`; `POST /api/folders`, `GET /api/folders/:uid`; `GET|POST
/api/folders/:uid/permissions`; `POST /api/dashboards/db`, `GET /api/dashboards/uid/:uid`;
`GET /api/search`; `POST /api/teams`, `GET /api/teams/search`. Every call needs the bearer
token it was made with. State is kept in plain dicts the tests read.
"""

from __future__ import annotations

import itertools
import threading

from tests.fakes.server import FakeServer, Routes


class FakeGrafana:
    def __init__(self, token: str = "fake-grafana-token") -> None:
        self.token = token
        self.folders: dict[str, dict] = {}
        self.permissions: dict[str, list[dict]] = {}
        self.dashboards: dict[str, dict] = {}
        self.teams: dict[int, dict] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        routes = Routes()
        routes.add("GET", "/api/health")(lambda r: (200, {
            "commit": "fake", "database": "ok", "version": "10.4.0"}))
        routes.add("POST", "/api/folders")(self._create_folder)
        routes.add("GET", "/api/folders/([^/]+)")(self._get_folder)
        routes.add("GET", "/api/folders/([^/]+)/permissions")(self._get_permissions)
        routes.add("POST", "/api/folders/([^/]+)/permissions")(self._set_permissions)
        routes.add("POST", "/api/dashboards/db")(self._save_dashboard)
        routes.add("GET", "/api/dashboards/uid/([^/]+)")(self._get_dashboard)
        routes.add("GET", "/api/search")(self._search)
        routes.add("POST", "/api/teams")(self._add_team)
        routes.add("GET", "/api/teams/search")(self._search_teams)
        self.server = FakeServer(routes, check_auth=self._authorised)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> FakeGrafana:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _authorised(self, request) -> bool:
        return request.path == "/api/health" or (
            request.headers.get("Authorization") == f"Bearer {self.token}")

    def _create_folder(self, request):
        body = request.json()
        with self.lock:
            uid = body.get("uid") or f"f{next(self.ids)}"
            if uid in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            folder = {"id": next(self.ids), "uid": uid, "title": body["title"],
                      "url": f"/dashboards/f/{uid}/", "version": 1}
            self.folders[uid] = folder
            # A new folder is open to the org's Viewers and Editors until permissions are set.
            self.permissions[uid] = [{"role": "Viewer", "permission": 1},
                                     {"role": "Editor", "permission": 2}]
        return 200, folder

    def _get_folder(self, request, uid):
        folder = self.folders.get(uid)
        return (200, folder) if folder else (404, {"message": "folder not found"})

    def _get_permissions(self, request, uid):
        if uid not in self.folders:
            return 404, {"message": "folder not found"}
        return 200, [{"folderUid": uid, **item} for item in self.permissions[uid]]

    def _set_permissions(self, request, uid):
        if uid not in self.folders:
            return 404, {"message": "folder not found"}
        items = request.json().get("items")
        if not isinstance(items, list) or any(
                "permission" not in i or not ({"teamId", "userId", "role"} & set(i))
                for i in items):
            return 400, {"message": "bad request data"}
        self.permissions[uid] = items
        return 200, {"message": "Folder permissions updated"}

    def _save_dashboard(self, request):
        body = request.json()
        dashboard = body.get("dashboard") or {}
        folder_uid = body.get("folderUid")
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        uid = dashboard.get("uid")
        with self.lock:
            existing = self.dashboards.get(uid)
            if existing and not body.get("overwrite"):
                return 412, {"message": "A dashboard with the same uid already exists",
                             "status": "name-exists"}
            version = existing["dashboard"]["version"] + 1 if existing else 1
            saved = {**dashboard, "id": existing["dashboard"]["id"] if existing
                     else next(self.ids), "version": version}
            self.dashboards[uid] = {"dashboard": saved, "meta": {"folderUid": folder_uid}}
        return 200, {"id": saved["id"], "uid": uid, "url": f"/d/{uid}/x", "status": "success",
                     "version": version, "slug": "x"}

    def _get_dashboard(self, request, uid):
        found = self.dashboards.get(uid)
        return (200, found) if found else (404, {"message": "Dashboard not found"})

    def _search(self, request):
        query = request.args.get("query", "").lower()
        folders = set(request.multi_args.get("folderUIDs", []))
        hits = [{"id": d["dashboard"]["id"], "uid": uid, "title": d["dashboard"]["title"],
                 "type": "dash-db", "tags": d["dashboard"].get("tags", []),
                 "folderUid": d["meta"]["folderUid"], "url": f"/d/{uid}/x"}
                for uid, d in self.dashboards.items()
                if query in d["dashboard"]["title"].lower()
                and (not folders or d["meta"]["folderUid"] in folders)]
        return 200, hits

    def _add_team(self, request):
        name = request.json()["name"]
        with self.lock:
            if any(t["name"] == name for t in self.teams.values()):
                return 409, {"message": "Team name taken"}
            team_id = next(self.ids)
            self.teams[team_id] = {"id": team_id, "orgId": 1, "name": name, "email": "",
                                   "memberCount": 0}
        return 200, {"message": "Team created", "teamId": team_id}

    def _search_teams(self, request):
        query = request.args.get("query", "").lower()
        per_page = int(request.args.get("perpage", 1000))
        page = int(request.args.get("page", 1))
        found = [t for t in self.teams.values() if query in t["name"].lower()]
        return 200, {"totalCount": len(found), "page": page, "perPage": per_page,
                     "teams": found[(page - 1) * per_page:page * per_page]}
