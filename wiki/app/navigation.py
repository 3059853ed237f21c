"""Finding one's way: folders named by their titles, the trail to a page, the tree of folders and pages.

Everything here is built from the catalog's list of paths and titles, read in
one query and kept until the set of pages or their titles changes (the
catalog's generation): a breadcrumb or the tree of 10,000 pages costs one pass
over that list, never a git call per page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# In the tree of a folder, the pages of each folder below it are listed up to this
# many; past it the folder says how many more there are and links to its own listing.
TREE_PAGES_PER_FOLDER = 200


def humanise(name: str) -> str:
    """A folder's name as people would write it: ``vie-du-lieu`` → ``Vie du lieu``."""
    words = name.replace("-", " ").replace("_", " ").split()
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


@dataclass
class TreeFolder:
    """A folder of the tree: its subfolders and pages sorted by title, and how many pages it holds in all."""

    path: str
    title: str
    folders: list[TreeFolder] = field(default_factory=list)
    pages: list[tuple[str, str]] = field(default_factory=list)  # (path, title)
    total: int = 0
    hidden: int = 0  # pages of this folder left out of the tree (over TREE_PAGES_PER_FOLDER)


@dataclass(frozen=True)
class Crumb:
    path: str
    title: str
    folder: bool  # a folder (its listing) or a page


class Navigation:
    """Folder titles, trails and trees of one wiki, kept per catalog generation."""

    def __init__(self, titles: Callable[[], dict[str, str]], generation: Callable[[], int]) -> None:
        self._titles = titles
        self._generation = generation
        self._lock = threading.Lock()
        self._kept: tuple[int, dict[str, str]] | None = None
        self._trees: dict[str, TreeFolder] = {}

    def titles(self) -> dict[str, str]:
        """Every current page's path and title, read again only when pages or titles changed."""
        generation = self._generation()
        with self._lock:
            if self._kept is not None and self._kept[0] == generation:
                return self._kept[1]
        titles = self._titles()
        with self._lock:
            self._kept = (generation, titles)
            self._trees = {}
        return titles

    def folder_title(self, folder: str, titles: dict[str, str] | None = None) -> str:
        """The title of the page at the folder's own path, else its humanised name."""
        titles = self.titles() if titles is None else titles
        return titles.get(folder) or humanise(folder.rsplit("/", 1)[-1])

    def trail(self, path: str) -> list[Crumb]:
        """The folders above ``path``, outermost first, each with its title, then the page itself."""
        titles = self.titles()
        parts = path.split("/")
        crumbs = [Crumb("/".join(parts[: i + 1]), "", True) for i in range(len(parts) - 1)]
        crumbs = [Crumb(crumb.path, self.folder_title(crumb.path, titles), True) for crumb in crumbs]
        crumbs.append(Crumb(path, titles.get(path) or parts[-1], False))
        return crumbs

    def tree(self, folder: str = "") -> TreeFolder:
        """The folders and pages under ``folder`` (the whole wiki for ""), built in one pass over the titles."""
        titles = self.titles()
        with self._lock:
            kept = self._trees.get(folder)
        if kept is not None:
            return kept
        built = build_tree(titles, folder, self.folder_title(folder, titles) if folder else "")
        with self._lock:
            # Only folders that hold pages are kept: made-up addresses must not fill the memory.
            if (built.total or not folder) and self._kept is not None and self._kept[1] is titles:
                self._trees[folder] = built
        return built


def build_tree(titles: dict[str, str], folder: str = "", title: str = "") -> TreeFolder:
    """The tree under ``folder`` from ``{path: title}``: folders first, then pages, each sorted by title."""
    root = TreeFolder(folder, title)
    prefix = folder + "/" if folder else ""
    folders: dict[str, TreeFolder] = {folder: root}
    for path, page_title in titles.items():
        if not path.startswith(prefix):
            continue
        parent_path, _, _name = path.rpartition("/")
        node = folders.get(parent_path)
        if node is None:
            # Make the missing folders between the root and this page, outermost first.
            missing = []
            walk = parent_path
            while walk not in folders:
                missing.append(walk)
                walk = walk.rpartition("/")[0]
            node = folders[walk]
            for path_of in reversed(missing):
                child = TreeFolder(path_of, titles.get(path_of) or humanise(path_of.rsplit("/", 1)[-1]))
                node.folders.append(child)
                folders[path_of] = child
                node = child
        node.pages.append((path, page_title))
        # Count the page in every folder up to the root.
        walk = parent_path
        while True:
            folders[walk].total += 1
            if walk == folder:
                break
            walk = walk.rpartition("/")[0]
    for node in folders.values():
        node.folders.sort(key=lambda child: (child.title.casefold(), child.path))
        node.pages.sort(key=lambda page: (page[1].casefold(), page[0]))
        if node is not root and len(node.pages) > TREE_PAGES_PER_FOLDER:
            node.hidden = len(node.pages) - TREE_PAGES_PER_FOLDER
            del node.pages[TREE_PAGES_PER_FOLDER:]
    return root
