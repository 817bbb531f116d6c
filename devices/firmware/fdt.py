"""The flattened device tree (DTB, version 17 of the Devicetree Specification, chapter 5).

Decision: our own small writer/reader, not PyPI's `fdt` (0.3.3, last release
2022-07, classifiers stop at Python 3.10, and it has no overlay support), since
an overlay applier was needed anyway and the format is a few hundred lines.

  Node          a node: name ("" for the root), props (ordered {name: bytes}),
                children (ordered {name: Node}); set() encodes Python values
  Tree          the root node, the memory reservation block, boot_cpuid_phys,
                phandle allocation and labels (symbols) for overlays
  Tree.to_dtb() -> bytes          parse_dtb(bytes) -> Tree
  apply_overlay(tree, overlay_dtb)  libfdt's fdt_overlay_apply semantics

Property values given to Node.set (devicetree spec 2.2.4 value types):
  int or a list/tuple of ints  -> <u32> cells          str -> a string
  list/tuple of str             -> a string list        bytes -> as is
  True, or ()                   -> empty (a boolean property)
  u64(a, b, ...) / cells(...) / strings(...) build the bytes explicitly.
A malformed blob or overlay raises FdtError, whose message is one line; an overlay
raises its subclass OverlayError, named after the overlay (apply_overlay's name).

Everything read is outside input: the reader and the overlay applier never
recurse (a 1000-deep tree is refused as deeper than FDT_MAX_DEPTH, not a
RecursionError), check every offset and length against the blob, and do work
about linear in the blob's size (no quadratic rewrites of a property).
"""
import struct

FDT_MAGIC = 0xD00DFEED
FDT_VERSION = 17
FDT_LAST_COMP_VERSION = 16
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9
HEADER_SIZE = 40                 # ten big-endian u32 fields (spec 5.2)
# Linux unflattens at most 64 levels (FDT_MAX_DEPTH in drivers/of/fdt.c): a deeper
# tree could not be booted anyway, and refusing it bounds every walk of a tree
FDT_MAX_DEPTH = 64
PHANDLE_MAX = 0xFFFF_FFFE        # 0 and 0xffffffff are not phandles (spec 2.3.3)


class FdtError(ValueError):
    """A device tree blob or overlay that cannot be used; the message is one line."""


class OverlayError(FdtError):
    """An overlay that cannot be applied; the message starts with the overlay's name.

    Callers that prefix errors with a file name should let this one through as it
    is (it already names the overlay, not the kernel it was given with).
    """


# ------------------------------------------------------------------ value encoding

def cells(*values):
    """<u32 ...>: big-endian 32-bit cells."""
    try:
        return b"".join(struct.pack(">I", v & 0xFFFF_FFFF) for v in values)
    except struct.error as e:
        raise FdtError(f"a cell value is not an integer: {e}") from None


def u64(*values):
    """<u64 ...>: each value as two cells, high word first (as /bits/ 64)."""
    return b"".join(struct.pack(">Q", v & 0xFFFF_FFFF_FFFF_FFFF) for v in values)


def strings(*values):
    """A string list: each string NUL-terminated."""
    return b"".join(s.encode() + b"\0" for s in values)


def encode(value):
    """A Python value as property bytes (see the module docstring)."""
    if value is True or value == ():
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return strings(value)
    if isinstance(value, bool):
        raise FdtError("False is not a property value: leave the property out instead")
    if isinstance(value, int):
        return cells(value)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return strings(*value)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return cells(*value)
    raise FdtError(f"cannot encode {value!r} as a property value")


def decode_cells(data):
    """Property bytes as a list of u32 cells."""
    if len(data) % 4:
        raise FdtError(f"a {len(data)}-byte value is not a whole number of cells")
    return list(struct.unpack(f">{len(data) // 4}I", data))


def decode_strings(data):
    """Property bytes as a string list."""
    if not data.endswith(b"\0"):
        raise FdtError("a string property is not NUL-terminated")
    return [s.decode(errors="replace") for s in data[:-1].split(b"\0")]


# ------------------------------------------------------------------ the tree

class Node:
    def __init__(self, name=""):
        self.name = name
        self.props = {}             # name -> bytes, in insertion (output) order
        self.children = {}          # name -> Node, in insertion (output) order

    def set(self, name, value):
        self.props[name] = encode(value)
        return self

    def add(self, name):
        """The child called name, created (appended) if missing."""
        if not name or "/" in name:
            raise FdtError(f"bad node name {name!r}")
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = Node(name)
        return node

    def child(self, name):
        """A child by its full name, or by its name without the unit address if unique."""
        if name in self.children:
            return self.children[name]
        found = [n for k, n in self.children.items() if k.split("@")[0] == name]
        return found[0] if len(found) == 1 else None

    def get(self, name, default=None):
        return self.props.get(name, default)

    def u32(self, name):
        """The property as one cell, or None when missing or not one cell."""
        data = self.props.get(name)
        return struct.unpack(">I", data)[0] if data is not None and len(data) == 4 else None

    def string(self, name):
        data = self.props.get(name)
        return decode_strings(data)[0] if data else None

    def walk(self, path="/"):
        """(path, node) for this node and every node below it, depth first, in order.

        An explicit stack, not recursion: a tree of any depth is walked.
        """
        stack = [(path, self)]
        while stack:
            path, node = stack.pop()
            yield path, node
            prefix = path.rstrip("/") + "/"
            stack.extend((prefix + name, child) for name, child in reversed(node.children.items()))


class Tree:
    def __init__(self, root=None, reserved=(), boot_cpuid_phys=0):
        self.root = root if root is not None else Node("")
        self.reserved = list(reserved)        # [(address, size)] memory reservation block
        self.boot_cpuid_phys = boot_cpuid_phys
        self.symbols = {}                     # label -> node path, for overlays' __fixups__

    # --- lookup
    def node(self, path):
        """The node at an absolute path (or an /aliases name, as libfdt allows), or None."""
        if not path.startswith("/"):
            head, _, rest = path.partition("/")
            aliases = self.root.children.get("aliases")
            target = aliases.string(head) if aliases is not None and head in aliases.props else None
            if target is None:
                return None
            path = target.rstrip("/") + ("/" + rest if rest else "")
        node = self.root
        for part in filter(None, path.split("/")):
            node = node.child(part)
            if node is None:
                return None
        return node

    def path_of(self, target):
        for path, node in self.root.walk():
            if node is target:
                return path
        return None

    def by_phandle(self, phandle):
        for _path, node in self.root.walk():
            if phandle in (node.u32("phandle"), node.u32("linux,phandle")):
                return node
        return None

    def max_phandle(self):
        found = [v for _p, n in self.root.walk() for v in (n.u32("phandle"), n.u32("linux,phandle"))
                 if v is not None and v != 0xFFFF_FFFF]
        return max(found, default=0)

    def phandle(self, node, label=None):
        """node's phandle, allocated (max + 1) and stored on first use; label names it for overlays."""
        value = node.u32("phandle")
        if value is None:
            value = self.max_phandle() + 1
            node.set("phandle", value)
        if label is not None:
            self.symbols[label] = self.path_of(node)
        return value

    # --- the blob (spec 5.2 header, 5.3 memory reservation block, 5.4 structure, 5.5 strings)
    def to_dtb(self):
        strtab, offsets = bytearray(), {}

        def name_off(name):
            if name not in offsets:           # one copy of each property name
                offsets[name] = len(strtab)
                strtab.extend(name.encode() + b"\0")
            return offsets[name]

        struct_blk = bytearray()
        end_node = struct.pack(">I", FDT_END_NODE)
        stack = [self.root]          # a node to open, or END_NODE's bytes to close one
        while stack:
            node = stack.pop()
            if not isinstance(node, Node):
                struct_blk.extend(node)
                continue
            struct_blk.extend(struct.pack(">I", FDT_BEGIN_NODE))
            struct_blk.extend(_pad4(node.name.encode() + b"\0"))
            for name, data in node.props.items():
                struct_blk.extend(struct.pack(">III", FDT_PROP, len(data), name_off(name)))
                struct_blk.extend(_pad4(data))
            stack.append(end_node)
            stack.extend(reversed(node.children.values()))
        struct_blk.extend(struct.pack(">I", FDT_END))
        rsv = b"".join(struct.pack(">QQ", a, s) for a, s in self.reserved) + bytes(16)
        off_rsv = HEADER_SIZE                  # 40 is a multiple of 8, as the block needs
        off_struct = off_rsv + len(rsv)
        off_strings = off_struct + len(struct_blk)
        total = off_strings + len(strtab)
        header = struct.pack(">10I", FDT_MAGIC, total, off_struct, off_strings, off_rsv, FDT_VERSION,
                             FDT_LAST_COMP_VERSION, self.boot_cpuid_phys, len(strtab), len(struct_blk))
        return header + rsv + bytes(struct_blk) + bytes(strtab)


def _pad4(data):
    return bytes(data) + bytes(-len(data) % 4)


# ------------------------------------------------------------------ reading a blob

def parse_dtb(blob):
    """A .dtb (version 16 or later) as a Tree; labels come from its /__symbols__ node."""
    blob = bytes(blob)
    if len(blob) < HEADER_SIZE:
        raise FdtError(f"not a device tree blob: {len(blob)} bytes is shorter than the header")
    (magic, total, off_struct, off_strings, off_rsv, version, _last, boot_cpuid,
     size_strings, size_struct) = struct.unpack_from(">10I", blob)
    if magic != FDT_MAGIC:
        raise FdtError(f"not a device tree blob: magic 0x{magic:08x}, expected 0x{FDT_MAGIC:08x}")
    if version < 16:
        raise FdtError(f"device tree blob version {version} is too old (16 or later needed)")
    if total > len(blob):
        raise FdtError(f"device tree blob is truncated: header says {total} bytes, got {len(blob)}")
    if version < 17:
        size_struct = total - off_struct
    if off_struct + size_struct > total or off_strings + size_strings > total:
        raise FdtError("device tree blob header points past the end of the blob")
    reserved, pos = [], off_rsv
    while True:
        if pos + 16 > total:
            raise FdtError("device tree memory reservation block is not terminated")
        addr, size = struct.unpack_from(">QQ", blob, pos)
        pos += 16
        if addr == 0 and size == 0:
            break
        reserved.append((addr, size))
    strtab = blob[off_strings:off_strings + size_strings]
    sblk = blob[off_struct:off_struct + size_struct]

    def u32_at(p):
        if p + 4 > len(sblk):
            raise FdtError("device tree structure block ends in the middle of a token")
        return struct.unpack_from(">I", sblk, p)[0]

    def cstr(data, p, what):
        end = data.find(b"\0", p)
        if end < 0:
            raise FdtError(f"device tree {what} is not NUL-terminated")
        return data[p:end].decode(errors="replace"), end

    stack, root, pos = [], None, 0
    while True:
        token = u32_at(pos)
        pos += 4
        if token == FDT_BEGIN_NODE:
            name, end = cstr(sblk, pos, "node name")
            pos = (end + 4) & ~3
            if len(stack) >= FDT_MAX_DEPTH:
                raise FdtError(f"device tree nodes are nested more than {FDT_MAX_DEPTH} deep")
            node = Node(name)
            if stack:
                if not name or "/" in name:
                    raise FdtError(f"device tree node name {name!r} is empty or has a '/'")
                stack[-1].children[name] = node
            elif root is None:
                root = node
            else:
                raise FdtError("device tree has more than one root node")
            stack.append(node)
        elif token == FDT_END_NODE:
            if not stack:
                raise FdtError("device tree structure block has an unmatched END_NODE")
            stack.pop()
        elif token == FDT_PROP:
            if not stack:
                raise FdtError("device tree property outside any node")
            length, nameoff = u32_at(pos), u32_at(pos + 4)
            pos += 8
            if pos + length > len(sblk) or nameoff >= len(strtab):
                raise FdtError("device tree property runs past the end of its block")
            name, _ = cstr(strtab, nameoff, "property name")
            stack[-1].props[name] = sblk[pos:pos + length]
            pos = (pos + length + 3) & ~3
        elif token == FDT_NOP:
            continue
        elif token == FDT_END:
            break
        else:
            raise FdtError(f"device tree structure block has an unknown token 0x{token:x}")
    if root is None or stack:
        raise FdtError("device tree structure block has no complete root node")
    tree = Tree(root, reserved, boot_cpuid)
    symbols = root.children.get("__symbols__")
    if symbols is not None:
        for label, data in symbols.props.items():
            # a property that is not one NUL-terminated string is no label (the blob is
            # still a device tree: an overlay may have merged anything into /__symbols__)
            if data.endswith(b"\0"):
                tree.symbols[label] = decode_strings(data)[0]
    return tree


# ------------------------------------------------------------------ overlays

def apply_overlay(tree, overlay_dtb, name="the device-tree overlay"):
    """Merge a compiled overlay (dtc -@, /plugin/) into tree, in place, as libfdt does.

    1. the overlay's own phandles move above the base's (and __local_fixups__
       references to them with them);
    2. __fixups__ references to base labels get the base node's phandle;
    3. each fragment's __overlay__ is merged into its target (`target` phandle,
       or `target-path`): properties replace, child nodes merge or are added;
    4. the overlay's __symbols__ join the base's, pointing at where nodes landed.
    The tree is only changed once the whole overlay has been checked.  Any error
    is an OverlayError whose message starts with `name` (give the file's path).
    """
    try:
        _apply_overlay(tree, overlay_dtb)
    except FdtError as e:
        raise OverlayError(f"{name}: {_one_line(str(e))}") from None
    return tree


def _one_line(text, limit=300):
    """Node and property names come from the blob: escape control characters, cut long names."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def _phandle_index(root):
    """{phandle: node} over a tree, in one walk (the first node wins, as by_phandle)."""
    index = {}
    for _p, node in root.walk():
        for prop in ("phandle", "linux,phandle"):
            v = node.u32(prop)
            if v is not None and v != 0xFFFF_FFFF:
                index.setdefault(v, node)
    return index


class _Finder:
    """Tree.node for many paths of one tree, each child found in O(1).

    Node.child scans the children for a name without its unit address; an
    overlay can name thousands of paths, so the scan is done once per node.
    """
    def __init__(self, root):
        self.root = root
        self.short = {}                       # id(node) -> {name without @unit: [children]}

    def node(self, path):
        node = self.root
        for part in filter(None, path.split("/")):
            child = node.children.get(part)
            if child is None:
                short = self.short.get(id(node))
                if short is None:
                    short = self.short[id(node)] = {}
                    for k, n in node.children.items():
                        short.setdefault(k.split("@")[0], []).append(n)
                found = short.get(part, ())
                child = found[0] if len(found) == 1 else None
            if child is None:
                return None
            node = child
        return node


def _apply_overlay(tree, overlay_dtb):
    ov = parse_dtb(overlay_dtb)
    root = ov.root
    fragments = [(name, n) for name, n in root.children.items()
                 if not name.startswith("__") and "__overlay__" in n.children]
    if not fragments:
        raise FdtError("the overlay has no fragment with an __overlay__ node (was it compiled "
                       "from a /plugin/ source?)")
    base_index = _phandle_index(tree.root)
    # base nodes the overlay refers to by label; those without a phandle get one
    # (stored only at the end), numbered before the overlay's own are moved above them
    base_max = max(base_index, default=0)
    new_phandles = {}                        # id(node) -> (node, phandle to store)
    refs = []                                # (label, base node)
    fixups = root.children.get("__fixups__")
    for label, data in (fixups.props.items() if fixups is not None else ()):
        path = tree.symbols.get(label)
        target = tree.node(path) if path is not None else None
        if target is None:
            raise FdtError(f"overlay refers to label {label[:80]!r}, which the base device tree "
                           f"does not have (labels: {', '.join(sorted(tree.symbols)) or 'none'})")
        if target.u32("phandle") is None and id(target) not in new_phandles:
            new_phandles[id(target)] = (target, base_max + 1 + len(new_phandles))
        refs.append((label, data, target))

    def phandle_of(node):
        return new_phandles[id(node)][1] if id(node) in new_phandles else node.u32("phandle")

    # 1. the overlay's own phandles, and its references to them, move above the base's
    delta = base_max + len(new_phandles)
    owner = {}                               # phandle -> the overlay node that has it
    for path, node in root.walk():
        for prop in ("phandle", "linux,phandle"):
            v = node.u32(prop)
            if v is None:
                continue
            if v in (0, 0xFFFF_FFFF):        # spec 2.3.3; dtc never writes these
                raise FdtError(f"overlay node {path} has {prop} 0x{v:x}, which is not a phandle")
            if owner.setdefault(v, node) is not node:
                raise FdtError(f"overlay node {path} has phandle {v}, as another node has "
                               "(dtc refuses duplicate phandles)")
            node.props[prop] = cells(_moved(v, delta))
    local = root.children.get("__local_fixups__")
    if local is not None:
        _apply_local_fixups(local, root, delta)
    # 2. references to the base tree's labels
    finder = _Finder(root)
    for _label, data, target in refs:
        for ref in decode_strings(data):
            node_path, prop, offset = _split_fixup(ref)
            _poke_cell(finder.node(node_path), node_path, prop, offset, phandle_of(target), ref)
    # 3. every fragment's target, found before anything is merged
    by_new = {ph: node for node, ph in new_phandles.values()}
    plan = []
    for name, frag in fragments:
        target_ph = frag.get("target")
        target_path = frag.get("target-path")
        if target_ph is not None:
            if len(target_ph) != 4 or decode_cells(target_ph)[0] in (0, 0xFFFF_FFFF):
                raise FdtError(f"overlay fragment {name}: target is not a resolved phandle")
            ph = decode_cells(target_ph)[0]
            target = by_new.get(ph) or base_index.get(ph)
            if target is None:
                raise FdtError(f"overlay fragment {name}: no node in the base tree has phandle {ph}")
        elif target_path is not None:
            p = decode_strings(target_path)[0]
            target = tree.node(p)
            if target is None:
                raise FdtError(f"overlay fragment {name}: target-path {p!r} is not in the base tree")
        else:
            raise FdtError(f"overlay fragment {name} has neither target nor target-path")
        plan.append((name, frag.children["__overlay__"], target))
    # 4. the overlay's labels, pointing where their nodes will land (read before the base
    #    changes: a bad __symbols__ entry must leave it alone)
    labels = {}
    ov_symbols = root.children.get("__symbols__")
    if ov_symbols is not None:
        paths = {id(node): path for path, node in tree.root.walk()}
        where = {f"/{name}/__overlay__": paths.get(id(target)) for name, _c, target in plan}
        for label, data in ov_symbols.props.items():
            path = decode_strings(data)[0]
            parts = path.split("/", 3)       # "", fragment, "__overlay__", the rest
            prefix = "/".join(parts[:3])
            tpath = where.get(prefix)
            if tpath is not None and (path == prefix or path.startswith(prefix + "/")):
                labels[label] = (tpath.rstrip("/") + path[len(prefix):]) or "/"
    # checked: now change the base
    for node, ph in new_phandles.values():
        node.set("phandle", ph)
    for _name, content, target in plan:
        _merge(target, content)
    # the labels join the base's (and its own __symbols__ node, if it carries one, as libfdt does)
    tree.symbols.update(labels)
    base_symbols = tree.root.children.get("__symbols__")
    if base_symbols is not None:
        for label, path in labels.items():
            base_symbols.set(label, path)


def _moved(phandle, delta):
    """An overlay phandle moved above the base's; it must still be a phandle (libfdt: NOPHANDLES)."""
    if phandle + delta > PHANDLE_MAX:
        raise FdtError(f"overlay phandle {phandle} does not fit above the base tree's {delta} phandles")
    return phandle + delta


def _split_fixup(ref):
    parts = ref.rsplit(":", 2)
    # ASCII digits only (int() takes other scripts' digits too), and short enough for a cell offset
    if len(parts) != 3 or not (parts[2].isascii() and parts[2].isdigit()) or len(parts[2]) > 10:
        raise FdtError(f"overlay __fixups__ entry {ref[:80]!r} is not path:property:offset")
    return parts[0], parts[1], int(parts[2])


def _poke_cell(node, node_path, prop, offset, value, ref):
    """Write one cell of a property in place (a bytearray: many fixups of one property stay linear)."""
    data = node.props.get(prop) if node is not None else None
    if data is None or offset % 4 or offset + 4 > len(data):
        raise FdtError(f"overlay fixup {ref[:80]!r} does not point at a cell of {node_path[:80]}")
    if not isinstance(data, bytearray):
        data = node.props[prop] = bytearray(data)
    data[offset:offset + 4] = cells(value)


def _apply_local_fixups(local, root, delta):
    """__local_fixups__ mirrors the overlay: each property lists offsets of local phandle cells."""
    stack = [(local, root, "/")]
    while stack:
        fix, node, path = stack.pop()
        if node is None:
            raise FdtError(f"overlay __local_fixups__ names {path[:80]}, which the overlay does not have")
        for prop, data in fix.props.items():
            for offset in decode_cells(data):
                old = node.props.get(prop)
                if old is None or offset % 4 or offset + 4 > len(old):
                    raise FdtError(f"overlay __local_fixups__ offset {offset} is outside "
                                   f"{path[:80]}:{prop}")
                value = struct.unpack_from(">I", old, offset)[0]
                _poke_cell(node, path, prop, offset, _moved(value, delta), f"{path}:{prop}:{offset}")
        for name, sub in fix.children.items():
            stack.append((sub, node.children.get(name), path.rstrip("/") + "/" + name))


def _merge(target, content):
    """Properties replace, children merge or are appended; iterative (any depth)."""
    stack = [(target, content)]
    while stack:
        target, content = stack.pop()
        for name, data in content.props.items():
            target.props[name] = bytes(data)
        for name, child in content.children.items():
            stack.append((target.add(name), child))
