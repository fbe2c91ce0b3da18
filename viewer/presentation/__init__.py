"""What the viewer says, without Qt or torch: titles, placeholders, status texts, readouts and
the shortcut list, as pure functions of the state (viewer.state). Widgets only display them."""
