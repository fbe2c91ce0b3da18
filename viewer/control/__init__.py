"""Qt objects without a face: the controller that opens and plays files, the encode jobs and the
simulated network's timer. They drive the state and the backend; the widgets listen to them."""
