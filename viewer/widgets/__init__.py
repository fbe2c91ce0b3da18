"""The Qt widgets: main window, panes with their canvas, the charts panel and the dialogs."""
