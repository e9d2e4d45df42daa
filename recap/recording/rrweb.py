"""rrweb's numeric constants (EventType, IncrementalSource, MouseInteractions), as rrweb
records them: the vocabulary the decoder, the compiler and the demo generator share."""

from __future__ import annotations

from typing import Final

# rrweb EventType
DOM_CONTENT_LOADED: Final = 0
LOAD: Final = 1
FULL_SNAPSHOT: Final = 2
INCREMENTAL_SNAPSHOT: Final = 3
META: Final = 4
CUSTOM: Final = 5
PLUGIN: Final = 6

# rrweb IncrementalSource
MUTATION: Final = 0
MOUSE_MOVE: Final = 1
MOUSE_INTERACTION: Final = 2
SCROLL: Final = 3
VIEWPORT_RESIZE: Final = 4
INPUT: Final = 5
TOUCH_MOVE: Final = 6
MEDIA_INTERACTION: Final = 7
STYLE_SHEET_RULE: Final = 8
CANVAS_MUTATION: Final = 9
FONT: Final = 10
LOG: Final = 11
DRAG: Final = 12
STYLE_DECLARATION: Final = 13
SELECTION: Final = 14
ADOPTED_STYLE_SHEET: Final = 15
CUSTOM_ELEMENT: Final = 16

# rrweb MouseInteractions
MOUSE_UP: Final = 0
MOUSE_DOWN: Final = 1
CLICK: Final = 2
CONTEXT_MENU: Final = 3
DBL_CLICK: Final = 4
FOCUS: Final = 5
BLUR: Final = 6
TOUCH_START: Final = 7
TOUCH_MOVE_DEPARTED: Final = 8
TOUCH_END: Final = 9
TOUCH_CANCEL: Final = 10

# rrweb-snapshot NodeType: the `type` of a serialized node
NODE_DOCUMENT: Final = 0
NODE_DOCUMENT_TYPE: Final = 1
NODE_ELEMENT: Final = 2
NODE_TEXT: Final = 3
NODE_CDATA: Final = 4
NODE_COMMENT: Final = 5

# rrweb PointerTypes
POINTER_MOUSE: Final = 0
POINTER_PEN: Final = 1
POINTER_TOUCH: Final = 2
